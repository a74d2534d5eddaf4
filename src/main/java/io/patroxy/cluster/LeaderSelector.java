package io.patroxy.cluster;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Which member new sessions go to: a pure function of the members' health.
 *
 * <p>With the seeds' config HAProxy routes to any member that is UP, and only the leader passes
 * {@code /primary}. When several are UP at once (the old leader still "going down" while the
 * new one has risen), sessions are never spread: prefer the member whose latest check passed,
 * then the higher Patroni timeline (the newer promotion), then configuration order.
 */
public final class LeaderSelector {

    private static final Comparator<MemberView> PREFERENCE = Comparator
            .comparing(MemberView::lastCheckPassed).reversed()
            .thenComparing(Comparator.comparingLong((MemberView m) -> m.patroni().timeline()).reversed());

    private LeaderSelector() {
    }

    /** @param members in configuration order (the stable sort keeps it as the last tie-break) */
    public static Optional<MemberView> select(List<MemberView> members) {
        return members.stream().filter(MemberView::isUp).sorted(PREFERENCE).findFirst();
    }
}
