package io.patroxy.cluster;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Which member new sessions go to: a pure function of the members' health.
 *
 * <p>With the seeds' config HAProxy routes to any member that is UP, and only the leader passes
 * {@code /primary}. When several are UP at once, sessions are never spread:
 * <ol>
 *   <li>the old leader still "going down" while the new one has risen: the member whose latest
 *       check passed wins;</li>
 *   <li>two members pass {@code /primary} (a split brain): the higher Patroni timeline wins — it
 *       holds the newer promotion;</li>
 *   <li>two pass with the same known timeline: nobody wins; new sessions are held until it
 *       resolves ({@link Selection#splitBrain()});</li>
 *   <li>otherwise (no timeline reported), configuration order.</li>
 * </ol>
 */
public final class LeaderSelector {

    /** @param splitBrain two members pass with the same timeline: no leader is chosen */
    public record Selection(Optional<MemberView> leader, boolean contested, boolean splitBrain) {
    }

    private static final Comparator<MemberView> PREFERENCE = Comparator
            .comparing(MemberView::lastCheckPassed).reversed()
            .thenComparing(Comparator.comparingLong((MemberView m) -> m.patroni().timeline()).reversed());

    private LeaderSelector() {
    }

    /** @param members in configuration order (the stable sort keeps it as the last tie-break) */
    public static Selection select(List<MemberView> members) {
        List<MemberView> up = members.stream().filter(MemberView::isUp).sorted(PREFERENCE).toList();
        if (up.isEmpty()) {
            return new Selection(Optional.empty(), false, false);
        }
        if (up.size() > 1) {
            MemberView first = up.get(0);
            MemberView second = up.get(1);
            boolean bothPass = first.lastCheckPassed() && second.lastCheckPassed();
            long timeline = first.patroni().timeline();
            if (bothPass && timeline >= 0 && timeline == second.patroni().timeline()) {
                return new Selection(Optional.empty(), true, true);
            }
        }
        return new Selection(Optional.of(up.get(0)), up.size() > 1, false);
    }
}
