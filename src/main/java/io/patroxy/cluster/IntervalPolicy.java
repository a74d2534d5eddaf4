package io.patroxy.cluster;

import java.time.Duration;

import io.patroxy.config.CheckSettings;
import io.patroxy.health.MemberHealth;
import io.patroxy.config.CheckSettings;

/**
 * How long after one check of a member its next check starts: HAProxy's {@code inter},
 * {@code fastinter} and {@code downinter}, with Patroxy's rule on top — while no leader is known
 * or any member is in transition, every member is checked at {@code fastinter} (a DOWN replica is
 * the one about to be promoted). A pure function.
 */
public final class IntervalPolicy {

    private IntervalPolicy() {
    }

    /** For a leader role. */
    public static Duration next(CheckSettings s, ClusterView view, String member) {
        return next(s, view, member, true);
    }

    /**
     * @param leaderRole false for a balanced listener: "no leader" is its normal state, so only
     *                   members in transition make it check at {@code fastinter}
     */
    public static Duration next(CheckSettings s, ClusterView view, String member, boolean leaderRole) {
        boolean unsettled = (leaderRole && view.elected().isEmpty())
                || view.members().stream().anyMatch(IntervalPolicy::inTransition);
        if (unsettled) {
            return s.fastinter();
        }
        MemberView m = view.member(member).orElseThrow();
        return m.health().state() == MemberHealth.State.DOWN ? s.downinter() : s.interval();
    }

    /** Going up or down; a member in MAINT is not checked, its frozen state is no transition. */
    private static boolean inTransition(MemberView m) {
        if (m.inMaint()) {
            return false;
        }
        MemberHealth.State st = m.health().state();
        return st == MemberHealth.State.UP_GOING_DOWN || st == MemberHealth.State.DOWN_GOING_UP;
    }
}
