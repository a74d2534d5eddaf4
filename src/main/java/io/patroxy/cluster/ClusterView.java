package io.patroxy.cluster;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * An immutable snapshot of what the health checks know: crosses threads behind an
 * {@code AtomicReference}; the data path only ever reads it.
 *
 * @param members   in configuration order
 * @param leader    the member new sessions go to, or null when none is UP
 * @param contested  more than one member is UP (see {@link LeaderSelector})
 * @param splitBrain two members pass the check with the same timeline: no leader, new sessions wait
 * @param dcs        what Patroni's DCS says (the leader key), {@link DcsInput#NONE} without the watch
 * @param withheld   the member the checks choose as leader while the operator holds it in DRAIN or
 *                   MAINT ({@link LeaderSelector}): no leader then, new sessions wait; else null
 */
public record ClusterView(List<MemberView> members, MemberView leader, boolean contested, boolean splitBrain, Instant at,
        DcsInput dcs, MemberView withheld) {

    public ClusterView {
        members = List.copyOf(members);
        dcs = dcs == null ? DcsInput.NONE : dcs;
    }

    public ClusterView(List<MemberView> members, MemberView leader, boolean contested, boolean splitBrain, Instant at) {
        this(members, leader, contested, splitBrain, at, DcsInput.NONE, null);
    }

    public ClusterView(List<MemberView> members, MemberView leader, boolean contested, boolean splitBrain, Instant at,
            DcsInput dcs) {
        this(members, leader, contested, splitBrain, at, dcs, null);
    }

    /** Whether Patroni's leader key, held by another member, takes routing away from {@code member}. */
    public boolean deposedByDcs(String member) {
        return member(member).map(m -> dcs.deposes(m, members)).orElse(false);
    }

    /** The member the checks choose to lead, whether or not the operator lets it take sessions. */
    public Optional<MemberView> elected() {
        return Optional.ofNullable(leader != null ? leader : withheld);
    }

    public Optional<MemberView> leaderMember() {
        return Optional.ofNullable(leader);
    }

    /**
     * The member new sessions go to: the leader, unless Patroni answered its latest check with no
     * ({@link MemberView#answeredNo()}). Such a leader is going down — a switchover is demoting it,
     * or its role changed — and a login started on it now would be cut by the mark-down a few checks
     * later (fall), so new sessions wait until a check of it passes again or another member leads;
     * its open sessions stay until fall marks it DOWN, as HAProxy keeps them. A timeout or a refused
     * connection says nothing about the role: for those HAProxy's tolerance (fall) holds for new
     * sessions too. It stays the leader meanwhile (the stats, the leader history and the metrics).
     */
    public Optional<MemberView> routableLeader() {
        return leader == null || leader.answeredNo() ? Optional.empty() : Optional.of(leader);
    }

    public Optional<String> leaderName() {
        return leaderMember().map(MemberView::name);
    }

    public Optional<MemberView> member(String name) {
        return members.stream().filter(m -> m.name().equals(name)).findFirst();
    }

    public long upCount() {
        return members.stream().filter(MemberView::isUp).count();
    }

    /** Patroni's scope as the members report it, or "?" before any member said. */
    public String scope() {
        return members.stream().map(m -> m.patroni().scope()).filter(java.util.Objects::nonNull).findFirst().orElse("?");
    }

    /** What Patroxy sees, for people: "postgresql0 DOWN (L4CON connection refused), postgresql1 DOWN (L7STS 503, replica)". */
    public String describeMembers() {
        return members.stream().map(MemberView::describe).collect(java.util.stream.Collectors.joining(", "));
    }

    /** What a refused client is told: "no leader in cluster my_cluster: postgresql0 DOWN (…), …". */
    public String noLeaderMessage() {
        if (withheld != null) {
            return "no leader in cluster " + scope() + " takes new sessions: " + withheld.name() + " leads but an administrator put it in "
                    + withheld.admin() + ": " + describeMembers();
        }
        if (leader != null && routableLeader().isEmpty()) { // going down: see routableLeader
            return "no leader in cluster " + scope() + " takes new sessions: " + leader.name()
                    + " leads but Patroni answered its latest check with " + leader.lastCheckSummary() + ": " + describeMembers();
        }
        return "no leader in cluster " + scope() + (splitBrain ? " (split brain: two primaries on the same timeline): " : ": ")
                + describeMembers();
    }
}
