package io.patroxy.cluster;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Which member new sessions go to: a pure function of the members' health.
 *
 * <p>With the seeds' config HAProxy routes to any member that is UP, and only the leader passes
 * {@code /primary}. When several are UP at once, sessions are never spread. Among the UP members:
 * <ol>
 *   <li>the higher <em>last-known</em> Patroni timeline wins: it holds the newer promotion. A
 *       member's timeline survives its failed checks ({@link MemberView#lastKnownTimeline()}), so a
 *       flaky check of the newer primary ("UP 2/3") never hands the lead to the older one; an
 *       unknown timeline is the lowest;</li>
 *   <li>on equal timelines, if both passed their latest check, it is a split brain: nobody wins,
 *       new sessions are held until it resolves ({@link Selection#splitBrain()});</li>
 *   <li>otherwise the member whose latest check passed (the old leader still "going down" on the
 *       same timeline loses to one that passes);</li>
 *   <li>then configuration order.</li>
 * </ol>
 * A member Patroni's leader key deposes ({@link DcsInput#deposes}) is not a candidate at all.
 *
 * <p>The operator's word ({@link AdminState}) comes after, and only takes away: the member these
 * rules choose leads only while it is READY; in DRAIN or MAINT it is <em>withheld</em> — nobody
 * leads, new sessions wait (the hold), and the sessions of every other member go as when the lead
 * moves. A member in MAINT takes part with the health it had when its checks were paused, so
 * putting a newer primary in MAINT never hands the lead back to an older one.
 */
public final class LeaderSelector {

    /**
     * @param splitBrain two members pass with the same timeline: no leader is chosen
     * @param withheld   the member the rules chose while the operator holds it in DRAIN or MAINT (then no leader)
     */
    public record Selection(Optional<MemberView> leader, boolean contested, boolean splitBrain,
            Optional<MemberView> withheld) {

        public Selection(Optional<MemberView> leader, boolean contested, boolean splitBrain) {
            this(leader, contested, splitBrain, Optional.empty());
        }

        static Selection none() {
            return new Selection(Optional.empty(), false, false);
        }
    }

    private static final Comparator<MemberView> PREFERENCE = Comparator
            .comparingLong(MemberView::lastKnownTimeline).reversed()
            .thenComparing(Comparator.comparing(MemberView::lastCheckPassed).reversed());

    private LeaderSelector() {
    }

    /** @param members in configuration order (the stable sort keeps it as the last tie-break) */
    public static Selection select(List<MemberView> members) {
        return select(members, DcsInput.NONE);
    }

    /** @param dcs what Patroni's DCS says: it can take a member out of the running, never put one in */
    public static Selection select(List<MemberView> members, DcsInput dcs) {
        List<MemberView> up = members.stream().filter(MemberView::isUp).filter(m -> !dcs.deposes(m, members))
                .sorted(PREFERENCE).toList();
        if (up.isEmpty()) {
            return new Selection(Optional.empty(), false, false);
        }
        if (up.size() > 1) {
            MemberView first = up.get(0);
            MemberView second = up.get(1);
            if (first.lastCheckPassed() && second.lastCheckPassed()
                    && first.lastKnownTimeline() == second.lastKnownTimeline()) {
                return new Selection(Optional.empty(), true, true);
            }
        }
        MemberView chosen = up.get(0);
        if (!chosen.admin().takesNewSessions()) {
            return new Selection(Optional.empty(), up.size() > 1, false, Optional.of(chosen));
        }
        return new Selection(Optional.of(chosen), up.size() > 1, false, Optional.empty());
    }
}
