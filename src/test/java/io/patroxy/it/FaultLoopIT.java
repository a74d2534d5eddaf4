package io.patroxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The fault loop (issue 15): faults in a row on the real two-node cluster, each done to the
 * leader of the moment, under continuous clients through Patroxy — a writer on a kept
 * connection, a writer that opens a new connection for every write, a reader on a kept
 * connection. Every cycle is measured and checked ({@link FaultCycle}); a per-cycle table and
 * the totals are printed (lines {@code FAULTLOOP}, {@code FIGURES}).
 *
 * <p>{@code -Dpatroxy.faults.cycles=N} (3) cycles through {@code -Dpatroxy.faults=kill,partition,...}
 * (in CI: {@code patroni-crash,partition,switchover}, three that need no crash recovery nor rewind; {@code all}:
 * every {@link Fault} in turn);
 * {@code scripts/fault-loop.sh} runs 20 of all. Patroxy runs with the group
 * {@link FaultCycle#PATROXY_GID}, so that a partition drops only what Patroxy sends.
 */
class FaultLoopIT {

    static final int CYCLES = Integer.getInteger("patroxy.faults.cycles", 3);
    static final List<Fault> FAULTS = faults(System.getProperty("patroxy.faults", "patroni-crash,partition,switchover"));
    /** Patroxy listens on the cluster's own address, 127.0.0.(B-1): loops of several clusters run side by side. */
    static final String HOST = "127.0.0." + (LocalCluster.ADDR_BASE - 1);
    static final int PORT = 6440;
    static final int STATS_PORT = 7140;

    static LocalCluster cluster;
    static PatroxyProcess patroxy;

    static List<Fault> faults(String spec) {
        if (spec.equalsIgnoreCase("all")) {
            return List.of(Fault.values());
        }
        return Arrays.stream(spec.split(",")).map(f -> Fault.valueOf(f.trim().toUpperCase(Locale.ROOT).replace('-', '_'))).toList();
    }

    @AfterAll
    static void stopEverything() throws Exception {
        LocalCluster.stopAll(cluster, patroxy); // 'down' also deletes a partition's nftables table
    }

    @Test
    void faultsInARowUnderContinuousClientsLoseNoWriteAndLeaveNoSessionOnAFormerLeader() throws Exception {
        cluster = new LocalCluster().up(2);
        cluster.waitHealthy();
        System.out.printf("FIGURES fault loop cluster: Patroni %s, 2 nodes, ttl %d s; %d cycles of %s; load average before: %s%n",
                cluster.patroniVersion(), LocalCluster.TTL.toSeconds(), CYCLES, FAULTS, loadAverage());
        patroxy = new PatroxyProcess(HOST, PORT, STATS_PORT, Map.of(
                "PATROXY_CHECK_INTERVAL", FaultCycle.CHECK_INTERVAL.toSeconds() + "s",
                "PATROXY_CHECK_TIMEOUT", FaultCycle.CHECK_TIMEOUT.toSeconds() + "s",
                "PATROXY_CHECK_FALL", String.valueOf(FaultCycle.FALL)),
                List.of("setpriv", "--regid=" + FaultCycle.PATROXY_GID, "--clear-groups"));
        String url = patroxy.jdbcUrl();
        await("Patroxy routes to the leader").atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> Jdbc.serverAddress(url) != null);
        for (String table : List.of("fl_kept", "fl_new")) {
            Jdbc.exec(url, "DROP TABLE IF EXISTS " + table);
            Jdbc.exec(url, "CREATE TABLE " + table + " (" + Writer.STAMPED_COLUMNS + ")");
        }

        List<Writer> writers = List.of(new Writer(url, "fl_kept", false, true), new Writer(url, "fl_new", true, true));
        Reader reader = new Reader(url);
        List<CycleResult> results = new ArrayList<>();
        Set<String> lost = new HashSet<>();
        String aborted = null;
        try {
            System.out.println(CycleResult.header());
            for (int i = 1; i <= CYCLES; i++) {
                Fault fault = FAULTS.get((i - 1) % FAULTS.size());
                try {
                    CycleResult r = FaultCycle.run(i, fault, cluster, writers, reader, patroxy, lost);
                    results.add(r);
                    System.out.println(r.row());
                } catch (Exception | AssertionError e) {
                    aborted = "cycle " + i + " (" + fault + "): the cluster or the clients did not come back: " + e;
                    System.out.println("FAULTLOOP " + aborted);
                    System.out.println(cluster.status());
                    break;
                }
            }
        } finally {
            for (Writer w : writers) {
                w.close();
            }
            reader.close();
        }
        System.out.println(CycleResult.header());
        results.forEach(r -> System.out.println(r.row()));
        System.out.println(CycleResult.totals(results) + "; load average after: " + loadAverage());

        assertThat(aborted).as("a cycle that never recovered").isNull();
        assertThat(results).hasSize(CYCLES);
        assertThat(lost).as("acknowledged writes missing on the leader").isEmpty();
        assertThat(results).as("cycles that did not hold (see the FAULTLOOP table)").allMatch(CycleResult::held);
        assertThat(writers).as("each writer wrote during every cycle").allMatch(w -> w.acks.size() > 10 * CYCLES);
    }

    static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "?";
        }
    }

}
