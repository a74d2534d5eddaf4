package io.patroxy.cluster;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

import org.jboss.logging.Logger;

import io.patroxy.config.MemberAddress;
import io.patroxy.health.dcs.DcsMember;
import io.patroxy.health.dcs.DcsState;

/**
 * Follows Patroni's DCS (what the ZooKeeper watch says), not only the clock:
 * <ul>
 *   <li>every leader listener's registry gets the key holder as a {@link DcsInput} to its pure
 *       selector and drop policy: a member that lost the key to another member loses routing at
 *       once (its sessions dropped, through the listeners as on any snapshot), and no member
 *       gains it but by its own checks;</li>
 *   <li>when the leader key changes (moved, deleted or taken), every member of every listener is
 *       checked at once ({@code hurry}), then at {@code fastinter} ({@link #pace}) until every
 *       leader listener selects the key holder or the hold timeout passes; a member's role or the
 *       set of members changing gets one check of every member at once.</li>
 * </ul>
 * Without a ZooKeeper session the input is {@link DcsInput#NONE}: polling only, as without the watch.
 */
public final class DcsFollower implements ClusterListener {

    private static final Logger LOG = Logger.getLogger(DcsFollower.class);

    private final List<ClusterRegistry> leaderRegistries;
    private final Duration fastinter;
    private final Duration hold;
    private final Clock clock;
    private final Runnable hurry;
    /** What is followed now: one value, replaced whole (the watch's thread and the checkers' race on it). */
    private record Follow(DcsInput input, Instant movedAt, Instant until) {
        Follow settled() {
            return new Follow(input, movedAt, null);
        }
    }

    private final AtomicReference<Follow> follow = new AtomicReference<>(new Follow(DcsInput.NONE, null, null));
    private DcsState lastConnected; // the watch's thread only: accept is called in order, one at a time

    /**
     * @param leaderRegistries every leader listener's (a balanced listener's checks are paced, its routing untouched)
     * @param hurry            checks every member of every listener right away (one not being checked now)
     */
    public DcsFollower(List<ClusterRegistry> leaderRegistries, Duration fastinter, Duration hold, Clock clock, Runnable hurry) {
        this.leaderRegistries = List.copyOf(leaderRegistries);
        this.fastinter = fastinter;
        this.hold = hold;
        this.clock = clock;
        this.hurry = hurry;
        this.leaderRegistries.forEach(r -> r.addListener(this));
    }

    /**
     * A new state from the watch, in ZooKeeper's order, one at a time. A key that changed while the
     * watch was disconnected counts as a change once it is connected again.
     */
    public void accept(DcsState state) {
        List<MemberAddress> ours = leaderRegistries.isEmpty() ? List.of()
                : leaderRegistries.get(0).view().members().stream().map(MemberView::address).toList();
        DcsInput now = state.leaderAmong(ours).map(m -> new DcsInput(m.name(), state.leader())).orElse(DcsInput.NONE);
        DcsState before = lastConnected;
        boolean keyChanged = state.connected() && before != null && !Objects.equals(before.leader(), state.leader());
        boolean membersChanged = state.connected() && before != null && !before.members().equals(state.members());
        if (state.connected()) {
            lastConnected = state;
            // a holder whose member node is not there yet (Patroni rewrites it as it promotes) is followed once it is
            boolean unmapped = state.leader() != null && now.leader() == null && state.members().containsKey(state.leader());
            if (unmapped && (before == null || !state.leader().equals(before.leader())
                    || !state.members().get(state.leader()).equals(before.members().get(state.leader())))) {
                DcsMember holder = state.members().get(state.leader());
                LOG.warnf("DCS: Patroni's leader key names %s, whose conn_url (%s:%d) is none of Patroxy's members %s: not followed",
                        state.leader(), holder.host(), holder.port(), ours);
            }
        }
        Follow was = follow.get();
        Follow next = keyChanged ? new Follow(now, clock.instant(), clock.instant().plus(hold)) : new Follow(now, was.movedAt(), was.until());
        follow.set(next); // before the registries publish: a snapshot they notify is judged against this
        if (keyChanged) {
            LOG.infof("DCS: leader key %s -> %s: every member checked now, then every %dms until the leader is selected"
                    + " (at most %s)", name(before.leader()), name(state.leader()), fastinter.toMillis(), hold);
        }
        leaderRegistries.forEach(r -> r.setDcs(now));
        if (keyChanged || membersChanged) {
            hurry.run();
        }
        settleIfSelected();
    }

    /** The pace of a member's checks: {@code normal} (the {@link IntervalPolicy}'s), or faster while following a key change. */
    public Duration pace(Duration normal) {
        Follow f = follow.get();
        if (f.until() == null) {
            return normal;
        }
        if (!clock.instant().isBefore(f.until())) {
            if (follow.compareAndSet(f, f.settled())) {
                LOG.warnf("DCS: the leader key holder (%s) was not selected within %s of the key change; checks at the usual pace",
                        f.input().leader() == null ? "none" : f.input().describe(), hold);
            }
            return normal;
        }
        return fastinter.compareTo(normal) < 0 ? fastinter : normal;
    }

    /** Whether checks go at {@code fastinter} now. */
    public boolean following() {
        Instant until = follow.get().until();
        return until != null && clock.instant().isBefore(until);
    }

    /** A leader registry's new snapshot: following ends once every leader listener selects the key holder. */
    @Override
    public void onChange(ClusterView before, ClusterView after) {
        settleIfSelected();
    }

    private void settleIfSelected() {
        Follow f = follow.get();
        String holder = f.input().leader();
        if (f.until() == null || holder == null) {
            return;
        }
        boolean selected = leaderRegistries.stream().allMatch(r -> r.view().leaderName().filter(holder::equals).isPresent());
        if (selected && follow.compareAndSet(f, f.settled())) {
            LOG.infof("DCS: %s selected as leader %d ms after the leader key changed", holder,
                    Duration.between(f.movedAt(), clock.instant()).toMillis());
        }
    }

    private static String name(String leader) {
        return leader == null ? "(none)" : leader;
    }
}
