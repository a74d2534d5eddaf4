package io.patroxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Role listeners and discovery on the real three-node cluster (issue 12): Patroxy is given one
 * seed and learns the other two from Patroni's /cluster; a primary port, a replicas port, a
 * replicas port with fallback to the leader, and a strict one with a short hold.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RoleListenersIT {

    static final int PRIMARY = 6452;
    static final int REPLICAS = 6453;
    static final int FALLBACK = 6454;
    static final int STRICT = 6455;
    static final int LAGGED = 6456;

    /** HAProxy 2.6 with Patroni's two-listener template beside Patroxy: its replicas listener. */
    static final String HAPROXY_REPLICAS = "jdbc:postgresql://127.0.0." + (LocalCluster.ADDR_BASE - 1) + ":5434/postgres?connectTimeout=20";

    static LocalCluster cluster;
    static PatroxyProcess patroxy;

    @BeforeAll
    static void startClusterAndPatroxy() {
        cluster = new LocalCluster().up(3);
        cluster.waitHealthy();
        cluster.haproxyUp();
        patroxy = new PatroxyProcess(PRIMARY, 7200, Map.of(
                "PATROXY_MEMBERS", "postgresql0=" + LocalCluster.address("postgresql0") + ":5432:8008", // one seed: the others are discovered
                "PATROXY_DISCOVERY", "cluster",
                "PATROXY_LISTENERS", "postgres=" + PRIMARY + ":primary,replicas=" + REPLICAS + ":replica,fallback="
                        + FALLBACK + ":replica;fallback=on,strict=" + STRICT + ":replica;hold=2s,lagged=" + LAGGED
                        + ":replica?lag=1048576"));
    }

    @AfterAll
    static void stopEverything() throws Exception {
        LocalCluster.stopAll(cluster, patroxy);
    }

    static String url(int port) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres?connectTimeout=20";
    }

    static Connection connect(int port) throws SQLException {
        return DriverManager.getConnection(url(port), Writer.props());
    }

    static String serverAddress(Connection c) throws SQLException {
        return Jdbc.serverAddress(c);
    }

    static List<String> replicas() {
        String leader = cluster.leader();
        List<String> r = new ArrayList<>();
        for (String m : List.of("postgresql0", "postgresql1", "postgresql2")) {
            if (!m.equals(leader)) {
                r.add(m);
            }
        }
        return r;
    }

    @Test
    @Order(1)
    void oneSeedFindsAllThreeAndTwentyReplicaSessionsSpreadOverBothReplicasNoneOnTheLeader() throws Exception {
        String leader = cluster.leader();
        List<String> replicas = replicas();
        // both replicas are routable only once discovery found the two that were not seeded and they rose
        await("replica port reaches both replicas").atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
            List<Connection> cs = new ArrayList<>();
            try {
                Map<String, Integer> seen = new TreeMap<>();
                for (int i = 0; i < 4; i++) {
                    Connection c = connect(REPLICAS);
                    cs.add(c);
                    seen.merge(serverAddress(c), 1, Integer::sum);
                }
                return seen.size() == 2;
            } finally {
                for (Connection c : cs) {
                    c.close();
                }
            }
        });
        List<Connection> open = new ArrayList<>();
        Map<String, Integer> spread = new TreeMap<>();
        try {
            for (int i = 0; i < 20; i++) {
                Connection c = connect(REPLICAS);
                open.add(c);
                spread.merge(serverAddress(c), 1, Integer::sum);
            }
            try (Connection p = connect(PRIMARY)) {
                assertThat(serverAddress(p)).as("the primary port").isEqualTo(LocalCluster.address(leader));
            }
        } finally {
            for (Connection c : open) {
                c.close();
            }
        }
        Map<String, Integer> viaHaproxy = new TreeMap<>();
        List<Connection> haproxyOpen = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                Connection c = DriverManager.getConnection(HAPROXY_REPLICAS, Writer.props());
                haproxyOpen.add(c);
                viaHaproxy.merge(serverAddress(c), 1, Integer::sum);
            }
        } finally {
            for (Connection c : haproxyOpen) {
                c.close();
            }
        }
        System.out.printf("FIGURES replica port: 20 concurrent sessions went to %s through Patroxy, %s through HAProxy's"
                + " 'listen replicas' (leader %s)%n", spread, viaHaproxy, LocalCluster.address(leader));
        assertThat(spread).containsOnlyKeys(LocalCluster.address(replicas.get(0)), LocalCluster.address(replicas.get(1)));
        assertThat(spread.values()).allSatisfy(n -> assertThat(n).isEqualTo(10)); // least connections
    }

    @Test
    @Order(2)
    void aStoppedReplicaLosesItsReplicaSessionsAndNewOnesGoToTheOther() throws Exception {
        List<String> replicas = replicas();
        String stopped = replicas.get(0);
        String other = replicas.get(1);
        List<Connection> open = new ArrayList<>();
        try {
            Connection onStopped = null;
            for (int i = 0; i < 4 && onStopped == null; i++) {
                Connection c = connect(REPLICAS);
                open.add(c);
                if (serverAddress(c).equals(LocalCluster.address(stopped))) {
                    onStopped = c;
                }
            }
            assertThat(onStopped).isNotNull();
            long t0 = System.nanoTime();
            cluster.stop(stopped);
            Connection gone = onStopped;
            await("its session is closed").atMost(Duration.ofSeconds(30)).until(() -> {
                try {
                    serverAddress(gone);
                    return false;
                } catch (SQLException closed) {
                    return true;
                }
            });
            for (int i = 0; i < 5; i++) {
                try (Connection c = connect(REPLICAS)) {
                    assertThat(serverAddress(c)).isEqualTo(LocalCluster.address(other));
                }
            }
            System.out.printf("FIGURES replica %s stopped: its replica session ended %.1f s after the stop began%n", stopped,
                    (System.nanoTime() - t0) / 1e9);
        } finally {
            for (Connection c : open) {
                c.close();
            }
            cluster.start(stopped);
            cluster.waitHealthy();
        }
    }

    @Test
    @Order(3)
    void withBothReplicasDownFallbackGoesToTheLeaderAndAStrictPortSaysWhy() throws Exception {
        String leader = cluster.leader();
        List<String> replicas = replicas();
        try {
            for (String r : replicas) {
                cluster.stop(r);
            }
            await("the fallback port goes to the leader").atMost(Duration.ofSeconds(40)).ignoreExceptions().until(() -> {
                try (Connection c = connect(FALLBACK)) {
                    return serverAddress(c).equals(LocalCluster.address(leader));
                }
            });
            long t0 = System.nanoTime();
            await("the strict port refuses with Patroxy's FATAL").atMost(Duration.ofSeconds(40)).until(() -> {
                try (Connection c = connect(STRICT)) {
                    return false;
                } catch (SQLException e) {
                    return "57P03".equals(e.getSQLState()) && e.getMessage().contains("no member of listener strict is UP");
                }
            });
            String haproxySays;
            try (Connection c = DriverManager.getConnection(HAPROXY_REPLICAS, Writer.props())) {
                haproxySays = "connected to " + serverAddress(c);
            } catch (SQLException e) {
                haproxySays = e.getSQLState() + " " + e.getMessage();
            }
            System.out.printf("FIGURES no replica UP: Patroxy's strict port answered FATAL 57P03 naming each member (after %.1f s);"
                    + " HAProxy's replicas port: %s%n", (System.nanoTime() - t0) / 1e9, haproxySays);
        } finally {
            for (String r : replicas) {
                cluster.start(r);
            }
            cluster.waitHealthy();
        }
        await("replicas serve the fallback port again").atMost(Duration.ofSeconds(40)).ignoreExceptions().until(() -> {
            try (Connection c = connect(FALLBACK)) {
                return !serverAddress(c).equals(LocalCluster.address(leader));
            }
        });
    }

    @Test
    @Order(4)
    void aReplicaThatStopsReceivingWalLeavesTheLagLimitedPortAndComesBackOnceCaughtUp() throws Exception {
        String async = asyncReplica();
        String other = replicas().stream().filter(m -> !m.equals(async)).findFirst().orElseThrow();
        long walReceiver;
        try (Connection direct = DriverManager.getConnection("jdbc:postgresql://" + LocalCluster.address(async) + ":5432/postgres",
                Writer.props()); Statement st = direct.createStatement();
                ResultSet rs = st.executeQuery("SELECT pid FROM pg_stat_wal_receiver")) {
            assertThat(rs.next()).as("a WAL receiver on " + async).isTrue();
            walReceiver = rs.getLong(1);
        }
        signal("STOP", walReceiver); // a process of the cluster this test started
        long stoppedAt = System.nanoTime();
        try {
            try (Connection p = connect(PRIMARY); Statement st = p.createStatement()) {
                st.executeUpdate("DROP TABLE IF EXISTS lagfill");
                st.executeUpdate("CREATE TABLE lagfill AS SELECT repeat('x', 1000) AS pad FROM generate_series(1, 8000)"); // ~8 MB of WAL
            }
            await("the lagging replica leaves the lag-limited port").atMost(Duration.ofSeconds(60)).ignoreExceptions()
                    .until(() -> onlyReaches(LAGGED, other));
            System.out.printf("FIGURES lag cut-off: %s left replica?lag=1MB %.1f s after its WAL receiver stopped%n", async,
                    (System.nanoTime() - stoppedAt) / 1e9);
        } finally {
            signal("CONT", walReceiver);
        }
        long resumedAt = System.nanoTime();
        await("it comes back once caught up").atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> reaches(LAGGED, async));
        System.out.printf("FIGURES lag cut-off: %s back on the port %.1f s after its WAL receiver resumed%n", async,
                (System.nanoTime() - resumedAt) / 1e9);
    }

    /** A replica that is not the synchronous standby (freezing that one would block every commit). */
    static String asyncReplica() throws Exception {
        var cluster = new com.fasterxml.jackson.databind.ObjectMapper().readTree(new java.net.URL(
                "http://" + LocalCluster.address(RoleListenersIT.cluster.leader()) + ":8008/cluster"));
        for (var m : cluster.path("members")) {
            if ("replica".equals(m.path("role").asText()) && replicas().contains(m.path("name").asText())) {
                return m.path("name").asText();
            }
        }
        throw new AssertionError("no asynchronous replica in " + cluster);
    }

    static void signal(String sig, long pid) throws Exception {
        Process k = new ProcessBuilder("kill", "-" + sig, String.valueOf(pid)).inheritIO().start();
        assertThat(k.waitFor()).as("kill -" + sig + " " + pid).isZero();
    }

    /** Four new sessions on {@code port} all reach {@code member}. */
    static boolean onlyReaches(int port, String member) throws SQLException {
        for (int i = 0; i < 4; i++) {
            try (Connection c = connect(port)) {
                if (!serverAddress(c).equals(LocalCluster.address(member))) {
                    return false;
                }
            }
        }
        return true;
    }

    /** One of four new sessions on {@code port} reaches {@code member}. */
    static boolean reaches(int port, String member) throws SQLException {
        for (int i = 0; i < 4; i++) {
            try (Connection c = connect(port)) {
                if (serverAddress(c).equals(LocalCluster.address(member))) {
                    return true;
                }
            }
        }
        return false;
    }

    @Test
    @Order(5)
    void aFailoverMovesThePromotedReplicaFromTheReplicaPortToThePrimaryPort() throws Exception {
        String old = cluster.leader();
        List<Connection> open = new ArrayList<>();
        try {
            for (int i = 0; i < 6; i++) {
                open.add(connect(REPLICAS));
            }
            cluster.kill(old);
            String promoted = cluster.waitLeaderOtherThan(old, Duration.ofSeconds(90));
            await("the primary port follows").atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
                try (Connection c = connect(PRIMARY)) {
                    return serverAddress(c).equals(LocalCluster.address(promoted));
                }
            });
            await("the promoted member's replica sessions are closed").atMost(Duration.ofSeconds(30)).until(() -> {
                for (Connection c : open) {
                    try {
                        if (serverAddress(c).equals(LocalCluster.address(promoted))) {
                            return false;
                        }
                    } catch (SQLException closed) {
                        // closed: as it should be if it was on the promoted member
                    }
                }
                return true;
            });
            for (int i = 0; i < 5; i++) {
                try (Connection c = connect(REPLICAS)) {
                    assertThat(serverAddress(c)).isNotEqualTo(LocalCluster.address(promoted));
                }
            }
            cluster.start(old);
            cluster.waitHealthy();
            await("the rejoined old leader enters the replica port after rise").atMost(Duration.ofSeconds(60)).ignoreExceptions()
                    .until(() -> reaches(REPLICAS, old));
        } finally {
            for (Connection c : open) {
                c.close();
            }
        }
    }

    @Test
    @Order(6)
    void aFourthNodeJoiningGetsReplicaSessionsWithoutARestartAndLeavesTheStatsWhenRemoved() throws Exception {
        long t0 = System.nanoTime();
        String joined = cluster.addNode();
        cluster.waitHealthy();
        double cloned = (System.nanoTime() - t0) / 1e9;
        await("the new member gets replica-port sessions").atMost(Duration.ofSeconds(60)).ignoreExceptions()
                .until(() -> reaches(REPLICAS, joined));
        System.out.printf("FIGURES discovery: %s joined Patroni (cloned in %.1f s) and got a replica-port session %.1f s after%n",
                joined, cloned, (System.nanoTime() - t0) / 1e9 - cloned);
        cluster.stop(joined); // Patroni removes a cleanly stopped member from /cluster
        long stopped = System.nanoTime();
        await("it leaves the stats after fall x interval").atMost(Duration.ofSeconds(60)).ignoreExceptions()
                .until(() -> !RealClusterIT.get("http://127.0.0.1:7200/;csv").contains("," + joined + ","));
        System.out.printf("FIGURES discovery: %s left the stats %.1f s after its stop%n", joined, (System.nanoTime() - stopped) / 1e9);
        for (int i = 0; i < 4; i++) {
            try (Connection c = connect(REPLICAS)) {
                assertThat(serverAddress(c)).isNotEqualTo(LocalCluster.address(joined));
            }
        }
    }
}
