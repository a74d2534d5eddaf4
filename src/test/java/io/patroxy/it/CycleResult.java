package io.patroxy.it;

import java.util.List;

/**
 * What one fault cycle measured (times in seconds; NaN: does not apply), and whether it held.
 *
 * @param gap the longest pause between two acknowledged writes of one client during the cycle
 * @param toFirstWrite from the new leader's first {@code /primary} 200 to the first write routed to it
 * @param lost acknowledged writes of the run found missing on this cycle's leader (or stored by
 *        another address or timeline than the one that acknowledged them), for the first time
 * @param late writes the old leader acknowledged after another member answered {@code /primary} 200
 * @param patroxySessions seconds from the fault to the last time Patroxy had a session on the old
 *        leader while it was not the leader (its stats CSV, {@code scur})
 * @param connections the same from the kernel: Patroxy's ESTABLISHED connections to its PostgreSQL
 * @param serverSessions the same from the old leader's own {@code pg_stat_activity}: client sessions
 *        on one of those connections (a backend whose connection Patroxy closed is not one)
 * @param duration from the cycle's start until the cluster was healthy and every client back
 * @param injection how long the fault's command took; the session times count from its end
 */
record CycleResult(int number, Fault fault, String old, String leader, double gap, double toFirstWrite, int acks, int lost,
        int late, double patroxySessions, double connections, double serverSessions, int connectFailures,
        int statementFailures, int readErrors, long readsInRecovery, double duration, double injection, String oldStatus,
        String error) {

    static final double BOUND = FaultCycle.SESSION_BOUND.toSeconds();

    boolean held() {
        return error == null && lost == 0 && late == 0 && readsInRecovery == 0 && patroxySessions <= BOUND && connections <= BOUND
                && serverSessions <= BOUND;
    }

    static String header() {
        return String.format("FAULTLOOP %3s %-14s %-25s %7s %9s %6s %4s %4s %8s %6s %6s %5s %5s %5s %5s %6s %6s  %s", "#", "fault",
                "leader", "gap s", "200>wr s", "acks", "lost", "late", "px ses s", "tcp s", "pg s", "conn", "stmt", "read",
                "inj s", "len s", "result", "Patroxy's status of the old leader (s since the fault)");
    }

    String row() {
        return String.format("FAULTLOOP %3d %-14s %-25s %7.2f %9s %6d %4d %4d %8.1f %6.1f %6.1f %5d %5d %5d %5.1f %6.1f %6s  %s%s", number,
                fault.name().toLowerCase(), old + (leader.equals(old) ? "" : " -> " + leader), gap, seconds(toFirstWrite), acks,
                lost, late, patroxySessions, connections, serverSessions,
                connectFailures, statementFailures, readErrors, injection, duration, held() ? "ok" : "FAILED", oldStatus,
                error == null ? "" : "  ERROR " + error);
    }

    private static String seconds(double s) {
        return Double.isNaN(s) ? "-" : String.format("%.2f", s);
    }

    /** The totals line over all cycles. */
    static String totals(List<CycleResult> results) {
        return String.format("FIGURES fault loop: %d cycles, %d held; %d writes acknowledged during faults, %d lost, %d acknowledged by a "
                + "former leader; longest write gap %.2f s; new leader's 200 -> first routed write max %s s; longest a session stayed "
                + "on a member down or no longer leading: %.1f s by Patroxy's stats, %.1f s by its TCP connections, %.1f s by "
                + "the member's pg_stat_activity (bound fall x "
                + "(timeout + interval) = %.0f s); failed connection attempts %d, statements killed in flight %d, failed reads %d, "
                + "reads answered by a server in recovery %d",
                results.size(), results.stream().filter(CycleResult::held).count(), results.stream().mapToInt(CycleResult::acks).sum(),
                results.stream().mapToInt(CycleResult::lost).sum(), results.stream().mapToInt(CycleResult::late).sum(),
                results.stream().mapToDouble(CycleResult::gap).max().orElse(0),
                seconds(results.stream().mapToDouble(CycleResult::toFirstWrite).filter(d -> !Double.isNaN(d)).max().orElse(Double.NaN)),
                results.stream().mapToDouble(CycleResult::patroxySessions).max().orElse(0),
                results.stream().mapToDouble(CycleResult::connections).max().orElse(0),
                results.stream().mapToDouble(CycleResult::serverSessions).max().orElse(0), BOUND,
                results.stream().mapToInt(CycleResult::connectFailures).sum(),
                results.stream().mapToInt(CycleResult::statementFailures).sum(), results.stream().mapToInt(CycleResult::readErrors).sum(),
                results.stream().mapToLong(CycleResult::readsInRecovery).sum());
    }
}
