package io.patroxy.cluster;

import java.util.List;
import java.util.Optional;

/**
 * What Patroni's DCS says, as an input to the pure {@link LeaderSelector} and {@link DropPolicy}:
 * who holds the leader key, mapped to Patroxy's member (by the host:port of its {@code conn_url}).
 * The REST check stays the judge: the DCS can only take routing away, never grant it.
 *
 * <p>A member is <b>deposed</b> when the key is held by <em>another</em> of Patroxy's members and
 * the REST API does not show the deposed member on a newer timeline than the key holder. Patroni
 * takes the key before it promotes, so a candidate's last-known timeline is still the old leader's
 * when the key moves; a stale key (the newer primary already reports a higher timeline) deposes
 * nobody. A member the DCS deposes is never selected, and its sessions go as when another member
 * becomes leader.
 *
 * @param leader    Patroxy's member holding the key, or null: no watch, not connected, no key, or
 *                  a key holder whose {@code conn_url} is none of Patroxy's members
 * @param keyHolder the key holder's name in the DCS (for people), or null
 */
public record DcsInput(String leader, String keyHolder) {

    /** No watch, or nothing it can say. */
    public static final DcsInput NONE = new DcsInput(null, null);

    /** Whether the DCS takes routing away from {@code member} (see the class comment). */
    public boolean deposes(MemberView member, List<MemberView> members) {
        if (leader == null || leader.equals(member.name())) {
            return false;
        }
        Optional<MemberView> holder = members.stream().filter(m -> m.name().equals(leader)).findFirst();
        return holder.isPresent() && member.lastKnownTimeline() <= holder.get().lastKnownTimeline();
    }

    /** "postgresql1" or "postgresql1 (Patroni's name node1)". */
    String describe() {
        return keyHolder == null || keyHolder.equals(leader) ? String.valueOf(leader) : leader + " (Patroni's " + keyHolder + ")";
    }
}
