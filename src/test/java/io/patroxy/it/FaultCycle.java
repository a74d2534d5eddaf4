package io.patroxy.it;

import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One cycle of the fault loop: the leader of the moment ({@link #old}) gets a {@link Fault} while
 * the clients go on through Patroxy; the fault is undone; the cycle ends once the cluster is
 * healthy and every client writes and reads on the leader again. Then it measures and checks
 * ({@link CycleResult}): every acknowledged write of the whole run on the leader now, with the
 * address and timeline that acknowledged it; none acknowledged by the old leader once another
 * member answered {@code /primary} 200; no session of Patroxy's left on the old leader past
 * fall × (timeout + interval) while it is not the leader; the write gap; the time from the new
 * leader's first {@code /primary} 200 to the first write routed to it.
 */
final class FaultCycle {

    /** Patroxy's checks in the loop: the shipped defaults, as the seeds' HAProxy (inter 3s, timeout 5s, fall 3). */
    static final Duration CHECK_INTERVAL = Duration.ofSeconds(3);
    static final Duration CHECK_TIMEOUT = Duration.ofSeconds(5);
    static final int FALL = 3;
    /** No session may stay on a member that is down or no longer the leader past fall × (timeout + interval). */
    static final Duration SESSION_BOUND = CHECK_TIMEOUT.plus(CHECK_INTERVAL).multipliedBy(FALL);
    /** The group Patroxy runs with in the loop: a partition drops what its sockets send (nftables {@code meta skgid}). */
    static final int PATROXY_GID = 60000 + LocalCluster.ADDR_BASE;

    final int number;
    final Fault fault;
    final LocalCluster cluster;
    final String old;
    private final List<Writer> writers;
    private final Reader reader;
    private final CycleWatch watch;
    final long startedAt = System.nanoTime();
    /** When the fault's command began, and when it returned (the fault in effect: the times of the checks count from here). */
    long injectedAt;
    long faultAt;
    private long undoneAt;
    private long healthyAt;
    private String error;
    /** What the cycle needed beyond the fault and its undoing (e.g. a reinit), or null. */
    private String note;

    private FaultCycle(int number, Fault fault, LocalCluster cluster, List<Writer> writers, Reader reader, PatroxyProcess patroxy) {
        this.number = number;
        this.fault = fault;
        this.cluster = cluster;
        this.writers = writers;
        this.reader = reader;
        this.old = cluster.leader();
        this.watch = new CycleWatch(patroxy.statsCsvUrl(), patroxy.pid(), old, cluster.members());
    }

    /** Runs one cycle; throws only when the cluster did not come back (the loop cannot go on). */
    static CycleResult run(int number, Fault fault, LocalCluster cluster, List<Writer> writers, Reader reader, PatroxyProcess patroxy,
            Set<String> lostSoFar) throws Exception {
        FaultCycle c = new FaultCycle(number, fault, cluster, writers, reader, patroxy);
        Counts before = c.counts();
        try {
            c.awaitClientsOn(c.old, c.startedAt, "before the fault");
            c.injectedAt = System.nanoTime();
            try {
                fault.inject(c);
                // after the command: it takes a few seconds on a loaded machine (a clean stop or a switchover
                // many more), and the old leader serves until the fault is done
                c.faultAt = System.nanoTime();
                fault.settle(c);
            } catch (RuntimeException e) {
                c.error = fault + ": " + e.getMessage();
                c.faultAt = c.faultAt == 0 ? System.nanoTime() : c.faultAt;
            } finally {
                c.undoneAt = System.nanoTime();
                fault.undo(c);
            }
            cluster.waitHealthy();
            c.awaitClientsOn(cluster.leader(), c.undoneAt, "after the fault was undone");
            c.healthyAt = System.nanoTime();
        } finally {
            c.watch.close();
        }
        return c.result(before, lostSoFar);
    }

    // ------------------------------------------------------------------ what the faults wait for

    /** Some member other than the old leader answers /primary 200, and every writer's writes are acknowledged there. */
    void awaitWritesOnAnotherLeader() {
        String promoted = cluster.waitLeaderOtherThan(old, Duration.ofSeconds(90));
        awaitClientsOn(promoted, injectedAt, "on the new leader");
    }

    /** Patroxy shows the old leader DOWN with no session on it. */
    void awaitPatroxyDropped() {
        await("Patroxy marks " + old + " DOWN with no session on it").atMost(SESSION_BOUND.plusSeconds(15))
                .pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
                    String csv = watch.csv();
                    return SessionSampler.csvCell(csv, old, "status").startsWith("DOWN")
                            && "0".equals(SessionSampler.csvCell(csv, old, "scur"));
                });
    }

    /**
     * Brings the old leader back ({@code start}); when Patroni cannot (a crash recovery or a rewind that
     * fails, "start failed"), it is cloned again from the leader, and the cycle says so: Patroni's
     * recovery, not Patroxy's, and the loop goes on.
     */
    void rejoin(Runnable start) {
        try {
            start.run();
            cluster.waitHealthy();
        } catch (RuntimeException e) {
            System.out.println("FAULTLOOP cycle " + number + ": " + old + " did not rejoin by itself (" + e.getMessage()
                    + "); patronictl reinit\n" + cluster.status());
            note = "reinit";
            cluster.reinit(old);
        }
    }

    /** The fault lasts until then: a deliberate duration, not a condition. */
    void holdUntil(long nanos) {
        long left = nanos - System.nanoTime();
        if (left > 0) {
            try {
                TimeUnit.NANOSECONDS.sleep(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    private void awaitClientsOn(String member, long since, String when) {
        String address = LocalCluster.address(member);
        await("every client writes and reads on " + member + " " + when).atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> writers.stream().allMatch(w -> w.acks.stream()
                        .filter(a -> a.atNanos() > since && address.equals(a.address())).count() >= 3)
                        && reader.reads.stream().filter(r -> r.atNanos() > since && address.equals(r.address())).count() >= 3);
    }

    // ------------------------------------------------------------------ measuring and checking

    private record Counts(int connectFailures, int statementFailures, int readErrors) {
    }

    private Counts counts() {
        return new Counts(writers.stream().mapToInt(w -> w.connectFailures.size()).sum(),
                writers.stream().mapToInt(w -> w.statementFailures.size()).sum(), reader.errors.size());
    }

    private CycleResult result(Counts before, Set<String> lostSoFar) throws SQLException {
        String leader = cluster.leader();
        String oldAddress = LocalCluster.address(old);
        boolean failover = !leader.equals(old);
        // the new leader's first /primary 200: of another member, or of the old one again after it had stepped down
        OptionalLong first200 = watch.first200(leader, injectedAt);
        if (!failover) {
            OptionalLong steppedDown = watch.firstNot200(old, faultAt);
            first200 = steppedDown.isPresent() ? watch.first200(old, steppedDown.getAsLong()) : OptionalLong.empty();
        }
        long newLeaderAt = first200.orElse(Long.MAX_VALUE);

        int acks = 0;
        int late = 0;
        double gap = 0;
        long firstRouted = Long.MAX_VALUE;
        for (Writer w : writers) {
            List<Writer.Ack> all = List.copyOf(w.acks);
            for (int i = 0; i < all.size(); i++) {
                Writer.Ack a = all.get(i);
                if (a.atNanos() <= injectedAt || a.atNanos() > healthyAt) {
                    continue;
                }
                acks++;
                if (failover && oldAddress.equals(a.address()) && a.atNanos() > newLeaderAt) {
                    late++; // acknowledged by the old leader after another member had become the leader
                }
                if (a.atNanos() > newLeaderAt && LocalCluster.address(leader).equals(a.address())) {
                    firstRouted = Math.min(firstRouted, a.atNanos());
                }
                if (i > 0) {
                    gap = Math.max(gap, (a.atNanos() - all.get(i - 1).atNanos()) / 1e9);
                }
            }
        }
        int lost = lostOn(leader, lostSoFar);
        long readsInRecovery = reader.reads.stream().filter(r -> r.atNanos() > injectedAt && r.inRecovery()).count();

        // while the old leader is not the leader: until the end of the cycle, or until the fault was undone if it leads again
        long windowEnd = failover ? healthyAt : undoneAt;
        double patroxySessions = since(watch.patroxySessionsLastSeen(faultAt, windowEnd));
        double connections = since(watch.connectionsLastSeen(faultAt, windowEnd));
        double serverSessions = since(watch.relayedLastSeen(faultAt, windowEnd));
        double orphans = since(watch.orphansLastSeen(faultAt, windowEnd));
        if (orphans > 0) {
            note = (note == null ? "" : note + ", ") + String.format("pg orphans until %.1f s", orphans);
        }
        Counts after = counts();
        return new CycleResult(number, fault, old, leader, gap,
                firstRouted == Long.MAX_VALUE ? Double.NaN : (firstRouted - newLeaderAt) / 1e9, acks, lost, late,
                patroxySessions, connections, serverSessions,
                after.connectFailures() - before.connectFailures(), after.statementFailures() - before.statementFailures(),
                after.readErrors() - before.readErrors(), readsInRecovery, (healthyAt - startedAt) / 1e9,
                (faultAt - injectedAt) / 1e9, (note == null ? "" : "[" + note + "] ") + watch.statusChanges(faultAt), error);
    }

    /** Seconds from the fault to the last sample that saw a session; 0 when none was seen. */
    private double since(OptionalLong lastSeen) {
        return lastSeen.isPresent() ? (lastSeen.getAsLong() - faultAt) / 1e9 : 0;
    }

    /** The acks whose row is missing from {@code stored} (id -> "address/timeline"), or stored with another address or timeline. */
    static List<Writer.Ack> notStored(List<Writer.Ack> acks, Map<Long, String> stored) {
        return acks.stream().filter(a -> !(a.address() + "/" + a.timeline()).equals(stored.get(a.id()))).toList();
    }

    /**
     * Every acknowledged write of the run so far, looked up on the leader directly: missing, or
     * stored with another address or timeline than the one that acknowledged it (a write on a
     * server whose history the leader does not share), it is lost. Returns how many were found lost
     * for the first time; {@code lostSoFar} collects them ("table:id").
     */
    private int lostOn(String leader, Set<String> lostSoFar) throws SQLException {
        int found = 0;
        try (Connection c = DriverManager.getConnection(CycleWatch.directUrl(leader), CycleWatch.checkProps())) {
            for (Writer w : writers) {
                // the acks first: each of them was committed, hence visible, before the SELECT below began
                List<Writer.Ack> acks = List.copyOf(w.acks);
                Map<Long, String> stored = new HashMap<>();
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT id, host(addr), tli FROM " + w.table)) {
                    while (rs.next()) {
                        stored.put(rs.getLong(1), rs.getString(2) + "/" + rs.getInt(3));
                    }
                }
                for (Writer.Ack a : notStored(acks, stored)) {
                    if (lostSoFar.add(w.table + ":" + a.id())) {
                        found++;
                        System.out.printf("FAULTLOOP LOST %s id %d acknowledged by %s on timeline %d at cycle %d; on %s: %s%n", w.table,
                                a.id(), a.address(), a.timeline(), number, leader, stored.get(a.id()));
                    }
                }
            }
        }
        return found;
    }
}
