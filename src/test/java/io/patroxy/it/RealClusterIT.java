package io.patroxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static io.patroxy.it.Jdbc.connect;
import static io.patroxy.it.Jdbc.exec;
import static io.patroxy.it.Jdbc.ids;
import static io.patroxy.it.Jdbc.serverAddress;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The seeds' failover and self-healing scenarios against a real Patroni + ZooKeeper 3.8 +
 * PostgreSQL 15 cluster on loopback (Patroni 3.0.2, or 4.0.x with {@code -Dpatroxy.it.patroni=4}:
 * see {@link LocalCluster}), through Patroxy running as a user runs it (the packaged jar), with
 * HAProxy 2.6 and the seeds' haproxy.cfg beside it for comparison. One cluster for the class; each
 * scenario leaves it healthy (a leader, a streaming sync standby) for the next.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RealClusterIT {

    static final int PATROXY_PORT = 6432;
    static final int STATS_PORT = 7100;
    /** HAProxy binds the cluster's own address, 127.0.0.(B-1) ({@link LocalCluster#ADDR_BASE}). */
    static final String HAPROXY_HOST = "127.0.0." + (LocalCluster.ADDR_BASE - 1);
    static final String HAPROXY_URL = "jdbc:postgresql://" + HAPROXY_HOST + ":5433/postgres";
    static final double CHECK_INTERVAL_S = 3.0;
    static final String ADMIN_PASSWORD = "it-admin-pw";
    /**
     * How long the newer primary's Patroni stays frozen in the split brain, with the check settings
     * this Patroxy runs with (the shipped defaults: inter 3 s, timeout 5 s, fall 3, fastinter 0.5 s).
     * A frozen Patroni never answers, and it never accepts either: once its small accept queue is
     * full (HAProxy's checks fill it too), a check fails at connect, after HAProxy's check connect
     * timeout min(timeout connect, inter) = 3 s, not at the 5 s timeout. So DOWN can come as early
     * as 3 × 3 + 2 × 0.5 = 10 s after the freeze (seen: 14.8 s with a 14 s freeze, the third check
     * failing with L4TOUT). 9 s stays under that, and past the latest first failure (a check just
     * answered: inter 3 s + 5 s = 8 s), so the member is always shown going down ("UP 2/3") and
     * never DOWN: fewer failed checks than fall, the case where the selector must keep the newer
     * primary.
     */
    static final Duration PATRONI_FREEZE = Duration.ofSeconds(9);

    static LocalCluster cluster;
    static PatroxyProcess patroxy;
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    /** The split brain one scenario leaves for the next, which heals it; null when there is none. */
    static SplitBrain splitBrain;

    record SplitBrain(String older, String newer) {
    }

    @BeforeAll
    static void startClusterAndPatroxy() throws Exception {
        cluster = new LocalCluster().up(2);
        cluster.haproxyUp();
        System.out.println("FIGURES cluster: Patroni " + cluster.patroniVersion() + ", 2 nodes");
        // the shipped defaults (inter 3s, fall 3, rise 2, timeout 5s), as the seeds' HAProxy
        patroxy = new PatroxyProcess(PATROXY_PORT, STATS_PORT, Map.of("PATROXY_ADMIN_USER", "ops", "PATROXY_ADMIN_PASSWORD", ADMIN_PASSWORD));
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> serverAddress(patroxy.jdbcUrl()) != null);
        for (String table : new String[] {"w_patroxy", "w_haproxy", "seen"}) {
            exec(patroxy.jdbcUrl(), "CREATE TABLE IF NOT EXISTS " + table + " (id bigint PRIMARY KEY, at timestamptz DEFAULT now())");
        }
    }

    @AfterAll
    static void stopEverything() throws Exception {
        LocalCluster.stopAll(cluster, patroxy);
    }

    // ------------------------------------------------------------------ scenarios

    @Test
    @Order(1)
    void newSessionsReachTheLeaderWhichWritesAndNeverAReplica() throws Exception {
        String leader = cluster.leader();
        for (int i = 0; i < 10; i++) {
            try (Connection c = connect(patroxy.jdbcUrl()); Statement st = c.createStatement()) {
                ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery(), host(inet_server_addr())");
                rs.next();
                assertThat(rs.getBoolean(1)).as("pg_is_in_recovery() through Patroxy").isFalse();
                assertThat(rs.getString(2)).isEqualTo(LocalCluster.address(leader));
                st.executeUpdate("INSERT INTO seen(id) VALUES (" + i + ")");
            }
        }
    }

    /**
     * PostgreSQL that ends a backend in the middle of a login (SIGTERM, as every backend gets at a
     * fast shutdown) writes nothing to the client: directly, the connection vanishes; through
     * Patroxy the client reads Patroxy's FATAL 08006 saying what happened (TlsClusterIT: the same
     * over TLS).
     */
    @Test
    @Order(1)
    void aBackendEndedInTheMiddleOfALoginLeavesTheClientPatroxysFatalNotAVanishedConnection() throws Exception {
        String leader = cluster.leader();
        assertThat(MidLogin.ended(LocalCluster.address(leader), 5432, leader, false)).as("directly to PostgreSQL").isEqualTo("EOF");
        assertThat(MidLogin.ended("127.0.0.1", PATROXY_PORT, leader, false)).as("through Patroxy")
                .startsWith("E").contains("C08006").contains("closed the connection during authentication without an error");
    }

    @Test
    @Order(2)
    void hardKillOfTheLeaderWritesResumeOnTheNewLeaderWithEveryAcknowledgedWriteKept() throws Exception {
        String old = cluster.leader();
        Writer viaPatroxy = new Writer(patroxy.jdbcUrl(), "w_patroxy");
        Writer viaHaproxy = new Writer(HAPROXY_URL, "w_haproxy");
        await().atMost(Duration.ofSeconds(20)).until(() -> viaPatroxy.acks.size() >= 10 && viaHaproxy.acks.size() >= 10);

        cluster.kill(old);
        // after the command returned (its processes are gone): the command itself takes up to ~1 s, and
        // writes acknowledged meanwhile by the old leader must not pass for writes resumed on the new one
        long killedAt = System.nanoTime();
        String promoted = cluster.waitLeaderOtherThan(old, Duration.ofSeconds(90));
        await("writes through Patroxy resume").atMost(Duration.ofSeconds(60))
                .until(() -> viaPatroxy.acksAfter(killedAt) >= 5 && viaHaproxy.acksAfter(killedAt) >= 5);
        viaPatroxy.close();
        viaHaproxy.close();

        double patroxyGap = viaPatroxy.longestGapSeconds();
        double haproxyGap = viaHaproxy.longestGapSeconds();
        System.out.printf("FIGURES hard failover: write gap through Patroxy %.2f s, through HAProxy %.2f s (leader %s -> %s); "
                + "failed connection attempts through Patroxy %d, through HAProxy %d%n",
                patroxyGap, haproxyGap, old, promoted, viaPatroxy.connectFailures.size(), viaHaproxy.connectFailures.size());
        // the hold (35 s) outlasts Patroni's promotion: clients wait instead of being refused; only an
        // attempt caught in its password exchange with the leader at the instant of the kill may fail
        assertThat(viaPatroxy.connectFailures).as("failed connection attempts through Patroxy").hasSizeLessThanOrEqualTo(1);
        // each proxy checks on its own phase: Patroxy may see the promotion up to one interval later
        assertThat(patroxyGap).isLessThanOrEqualTo(haproxyGap + CHECK_INTERVAL_S + 0.5);

        assertThat(serverAddress(patroxy.jdbcUrl())).isEqualTo(LocalCluster.address(promoted));
        Set<Long> stored = ids(patroxy.jdbcUrl(), "w_patroxy");
        for (Writer.Ack ack : viaPatroxy.acks) {
            assertThat(stored).as("acknowledged write %d on the new leader", ack.id()).contains(ack.id());
        }
        assertThat(ids(patroxy.jdbcUrl(), "w_haproxy")).containsAll(viaHaproxy.acks.stream().map(Writer.Ack::id).toList());
    }

    @Test
    @Order(3)
    void theFailoverShowsOnTheStatsPageInTheCsvAndInTheMetrics() throws Exception {
        String leader = cluster.leader();
        String killed = leader.equals("postgresql0") ? "postgresql1" : "postgresql0";
        String stats = "http://127.0.0.1:" + STATS_PORT;

        String csv = get(stats + "/;csv");
        assertThat(csv).startsWith("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,");
        java.util.List<String> header = java.util.List.of(csv.lines().findFirst().orElseThrow().substring(2).split(","));
        int svname = header.indexOf("svname");
        int status = header.indexOf("status");
        int chkdown = header.indexOf("chkdown");
        Map<String, String[]> rows = new java.util.HashMap<>();
        csv.lines().skip(1).map(l -> l.split(",", -1)).forEach(r -> rows.put(r[svname], r));
        assertThat(rows.get(killed)[status]).isEqualTo("DOWN");
        assertThat(Long.parseLong(rows.get(killed)[chkdown])).isPositive();
        assertThat(rows.get(leader)[status]).isEqualTo("UP");

        String metrics = get(stats + "/metrics");
        assertThat(metricValue(metrics, "patroxy_leader_changes_total")).isGreaterThanOrEqualTo(2); // start-up + failover
        assertThat(metricValue(metrics, "patroxy_no_leader_seconds_total")).isPositive();
        assertThat(metricValue(metrics, "patroxy_server_up{server=\"" + killed + "\"}")).isZero();
        assertThat(metricValue(metrics, "patroxy_server_up{server=\"" + leader + "\"}")).isEqualTo(1);

        io.patroxy.stats.StatsPageBrowser browser = new io.patroxy.stats.StatsPageBrowser(java.nio.file.Path.of("target", "stats-browser"));
        io.patroxy.stats.StatsPageBrowser.Page page = browser.open(stats + "/;norefresh", "real-cluster-after-failover");
        assertThat(page.dom()).contains("<b id=\"leader-name\">" + leader + "</b>")
                .contains("<tr id=\"server-" + leader + "\" class=\"up leader\">")
                .contains("<tr id=\"server-" + killed + "\" class=\"down\">");
        assertThat(page.screenshot()).isRegularFile();
        System.out.println("FIGURES stats page after the failover: " + page.screenshot());
    }

    @Test
    @Order(4)
    void theKilledNodeRejoinsAsAReplicaWithTheRowsWrittenInItsAbsenceAndGetsNoSessions() throws Exception {
        String leader = cluster.leader();
        String other = leader.equals("postgresql0") ? "postgresql1" : "postgresql0";
        cluster.start(other);
        cluster.waitHealthy();
        assertThat(http(other, "/replica")).isEqualTo(200);
        assertThat(cluster.member(other).runningReplica()).as("%s: %s", other, cluster.member(other)).isTrue();

        String direct = "jdbc:postgresql://" + LocalCluster.address(other) + ":5432/postgres";
        Set<Long> onLeader = ids(patroxy.jdbcUrl(), "w_patroxy");
        await("rows written while it was away reach the rejoined node").atMost(Duration.ofSeconds(30))
                .ignoreExceptions().until(() -> ids(direct, "w_patroxy").containsAll(onLeader));
        try (Connection c = connect(direct); Statement st = c.createStatement()) {
            ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()");
            rs.next();
            assertThat(rs.getBoolean(1)).isTrue();
        }
        for (int i = 0; i < 10; i++) {
            assertThat(serverAddress(patroxy.jdbcUrl())).isEqualTo(LocalCluster.address(leader));
        }
    }

    @Test
    @Order(5)
    void switchoverClosesSessionsOnTheOldLeaderAndCostsNoFailedConnectionAttempt() throws Exception {
        String old = cluster.leader();
        String candidate = old.equals("postgresql0") ? "postgresql1" : "postgresql0";
        exec(patroxy.jdbcUrl(), "CREATE TABLE IF NOT EXISTS w_switchover (id bigint PRIMARY KEY, at timestamptz DEFAULT now())");
        // a client that opens a new connection for every write, every 100 ms
        Writer writer = new Writer(patroxy.jdbcUrl(), "w_switchover", true);
        await().atMost(Duration.ofSeconds(20)).until(() -> writer.acks.size() >= 5);
        PrimaryWatch watch = new PrimaryWatch(candidate);
        try (Connection before = connect(patroxy.jdbcUrl())) {
            assertThat(serverAddress(before)).isEqualTo(LocalCluster.address(old));
            String promoted = cluster.switchover();
            assertThat(promoted).isEqualTo(candidate);
            await("new sessions reach the new leader").atMost(Duration.ofSeconds(30)).ignoreExceptions()
                    .until(() -> LocalCluster.address(promoted).equals(serverAddress(patroxy.jdbcUrl())));
            assertThatThrownBy(() -> serverAddress(before)).as("the session on the old leader").isInstanceOf(SQLException.class);
            long flipped = watch.awaitFirst200(Duration.ofSeconds(30));
            await().atMost(Duration.ofSeconds(30)).until(() -> writer.acksAfter(flipped) >= 5);
            writer.close();
            double toFirstWrite = (writer.acks.stream().filter(a -> a.atNanos() > flipped).findFirst().orElseThrow().atNanos()
                    - flipped) / 1e9;
            System.out.printf("FIGURES switchover: %d failed connection attempts, %d statements or logins killed in flight by PostgreSQL, "
                    + "write gap %.2f s, new leader's /primary 200 -> first write through Patroxy %.2f s%n",
                    writer.connectFailures.size(), writer.statementFailures.size(), writer.longestGapSeconds(), toFirstWrite);
            assertThat(writer.connectFailures).as("failed connection attempts during a switchover").isEmpty();
        } finally {
            watch.close();
            cluster.waitHealthy(); // the next scenario needs a sync standby, whatever happened here
        }
    }

    /**
     * The admin API on the real cluster (docs/admin.md): the leader in drain keeps its open session
     * and gets no new one (a new client is held, not relayed) until it is ready again; wrong
     * credentials change nothing; the switchover candidate in maint is never routed to after
     * Patroni promotes it — clients are held — until an operator sets it ready.
     */
    @Test
    @Order(6)
    void operatorDrainAndMaintOnTheRealClusterTheOperatorsWordWins() throws Exception {
        String leader = cluster.leader();
        String replica = leader.equals("postgresql0") ? "postgresql1" : "postgresql0";
        try (Connection open = connect(patroxy.jdbcUrl())) {
            assertThat(serverAddress(open)).isEqualTo(LocalCluster.address(leader));
            assertThat(admin("POST", "/admin/members/" + leader, "{\"state\":\"drain\"}", ADMIN_PASSWORD).statusCode()).isEqualTo(200);
            assertThat(serverAddress(open)).as("the open session stays on the drained leader").isEqualTo(LocalCluster.address(leader));
            long relayed = sessionsTotal(leader);
            long held = heldTotal();
            CompletableFuture<String> newcomer = CompletableFuture.supplyAsync(() -> {
                try {
                    return serverAddress(patroxy.jdbcUrl());
                } catch (SQLException e) {
                    return "failed: " + e.getMessage();
                }
            });
            await("a new client is held").atMost(Duration.ofSeconds(10)).until(() -> heldTotal() > held);
            assertThat(admin("POST", "/admin/members/" + leader, "{\"state\":\"ready\"}", "wrong").statusCode()).isEqualTo(401);
            assertThat(admin("GET", "/admin/members/" + leader, null, ADMIN_PASSWORD).body()).contains("\"state\":\"drain\"");
            assertThat(newcomer).as("no new session on a drained member").isNotDone();
            assertThat(sessionsTotal(leader)).isEqualTo(relayed);
            assertThat(serverAddress(open)).isEqualTo(LocalCluster.address(leader));
            open.close(); // it finishes normally
            assertThat(admin("POST", "/admin/members/" + leader, "{\"state\":\"ready\"}", ADMIN_PASSWORD).statusCode()).isEqualTo(200);
            assertThat(newcomer.get(10, TimeUnit.SECONDS)).isEqualTo(LocalCluster.address(leader));
        }

        // maint on the switchover candidate: Patroni promotes it, Patroxy does not route to it
        long replicaSessions = sessionsTotal(replica); // earlier scenarios may have made it leader
        assertThat(admin("POST", "/admin/members/" + replica, "{\"state\":\"maint\"}", ADMIN_PASSWORD).statusCode()).isEqualTo(200);
        CompletableFuture<String> waiting = null;
        try {
            assertThat(cluster.switchover()).isEqualTo(replica);
            await("the demoted leader is marked DOWN").atMost(Duration.ofSeconds(30))
                    .until(() -> {
                        var l = new com.fasterxml.jackson.databind.ObjectMapper().readTree(admin("GET", "/admin/state", null, ADMIN_PASSWORD).body())
                                .at("/listeners/0/leader");
                        return l.isNull() || l.isMissingNode();
                    });
            assertThat(admin("GET", "/admin/members/" + replica, null, ADMIN_PASSWORD).body()).contains("\"status\":\"MAINT\"");
            long held = heldTotal();
            waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return serverAddress(patroxy.jdbcUrl());
                } catch (SQLException e) {
                    return "failed: " + e.getMessage();
                }
            });
            await("a new client is held while the new primary is in maint").atMost(Duration.ofSeconds(10)).until(() -> heldTotal() > held);
            assertThat(waiting).isNotDone();
            assertThat(sessionsTotal(replica)).as("no new session on the promoted member in maint").isEqualTo(replicaSessions);
        } finally {
            assertThat(admin("POST", "/admin/members/" + replica, "{\"state\":\"ready\"}", ADMIN_PASSWORD).statusCode()).isEqualTo(200);
        }
        long readyAt = System.nanoTime();
        assertThat(waiting.get(30, TimeUnit.SECONDS)).as("the held client, once the new primary is ready")
                .isEqualTo(LocalCluster.address(replica));
        System.out.printf("FIGURES admin: maint -> ready on the promoted member: held client relayed after %.2f s (rise 2)%n",
                (System.nanoTime() - readyAt) / 1e9);
        cluster.waitHealthy();
    }

    private static HttpResponse<String> admin(String method, String path, String json, String password) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + STATS_PORT + path))
                .timeout(Duration.ofSeconds(5))
                .header("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(("ops:" + password).getBytes()))
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) {
            r.header("Content-Type", "application/json");
        }
        return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static long heldTotal() throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(statsJson()).at("/frontend/held").asLong();
    }

    private static long sessionsTotal(String member) throws Exception {
        for (var s : new com.fasterxml.jackson.databind.ObjectMapper().readTree(statsJson()).get("servers")) {
            if (s.get("name").asText().equals(member)) {
                return s.get("total").asLong();
            }
        }
        throw new AssertionError("no member " + member + " in the stats");
    }

    private static String statsJson() throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + STATS_PORT + "/stats.json"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    @Order(7)
    void cleanStopOfTheLeaderClosesItsSessionsAndTheReplicaTakesOver() throws Exception {
        String old = cluster.leader();
        String promoted;
        try {
            try (Connection before = connect(patroxy.jdbcUrl())) {
                assertThat(serverAddress(before)).isEqualTo(LocalCluster.address(old));
                cluster.stop(old);
                assertThatThrownBy(() -> serverAddress(before)).isInstanceOf(SQLException.class);
            }
            promoted = cluster.waitLeaderOtherThan(old, Duration.ofSeconds(90));
            await("new sessions reach the new leader").atMost(Duration.ofSeconds(30)).ignoreExceptions()
                    .until(() -> LocalCluster.address(promoted).equals(serverAddress(patroxy.jdbcUrl())));
        } finally {
            cluster.start(old); // the next scenarios need both nodes, whatever happened here
            cluster.waitHealthy();
        }
        assertThat(serverAddress(patroxy.jdbcUrl())).isEqualTo(LocalCluster.address(promoted));
    }

    @Test
    @Order(8)
    void aHungLeaderIsMarkedDownAndItsSessionsClosedWithinFallTimesTimeoutPlusInterval() throws Exception {
        String old = cluster.leader();
        // no socket timeout on this one: only Patroxy closing it can end a query on a frozen server
        java.util.Properties noTimeout = Writer.props();
        noTimeout.setProperty("socketTimeout", "0");
        Connection stuck = DriverManager.getConnection(patroxy.jdbcUrl(), noTimeout);
        assertThat(serverAddress(stuck)).isEqualTo(LocalCluster.address(old));
        java.util.concurrent.atomic.AtomicReference<String> dropMessage = new java.util.concurrent.atomic.AtomicReference<>();
        try {
            exec(patroxy.jdbcUrl(), "CREATE TABLE IF NOT EXISTS w_patroxy_hung (id bigint PRIMARY KEY, at timestamptz DEFAULT now())");
            Writer writer = new Writer(patroxy.jdbcUrl(), "w_patroxy_hung");
            await().atMost(Duration.ofSeconds(20)).until(() -> writer.acks.size() >= 10);
            cluster.freeze(old);
            long frozenAt = System.nanoTime(); // after the command: writes acknowledged before the SIGSTOP are not resumed writes
            // no FIN will ever come from a frozen server: only shutdown-sessions ends this query
            CompletableFuture<Long> failedAfter = CompletableFuture.supplyAsync(() -> {
                try (Statement st = stuck.createStatement()) {
                    st.setQueryTimeout(0);
                    st.executeQuery("SELECT 1");
                    return -1L;
                } catch (SQLException e) {
                    dropMessage.set(e.getMessage());
                    return System.nanoTime() - frozenAt;
                }
            });
            long nanos = failedAfter.get(60, TimeUnit.SECONDS);
            double seconds = nanos / 1e9;
            System.out.printf("FIGURES hung leader: session on the frozen leader closed after %.1f s (bound fall x (timeout + interval) = 24 s)%n", seconds);
            assertThat(nanos).as("the query on the frozen leader must fail, not succeed").isPositive();
            assertThat(seconds).isLessThanOrEqualTo(24 + 8);
            assertThat(dropMessage.get()).as("what the client is told").contains("terminating connection because").contains("Patroxy");

            String promoted = cluster.waitLeaderOtherThan(old, Duration.ofSeconds(90));
            await("writes resume on the new leader").atMost(Duration.ofSeconds(60))
                    .until(() -> writer.acksAfter(frozenAt) >= 5);
            writer.close();
            System.out.printf("FIGURES hung leader: write gap %.2f s%n", writer.longestGapSeconds());

            cluster.thaw(old);
            // the old leader finds it lost the lock and demotes itself; Patroxy sends it nothing meanwhile
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (http(old, "/replica") != 200 && System.nanoTime() < until) {
                assertThat(serverAddress(patroxy.jdbcUrl())).isEqualTo(LocalCluster.address(promoted));
            }
            cluster.waitHealthy(); // it may answer /replica during its restart as a replica, then rewind
            assertThat(http(old, "/replica")).as("the thawed old leader is a replica").isEqualTo(200);
            for (int i = 0; i < 10; i++) {
                assertThat(serverAddress(patroxy.jdbcUrl())).isEqualTo(LocalCluster.address(promoted));
            }
        } finally {
            try {
                stuck.close();
            } catch (SQLException ignored) {
                // it was closed under us: that is the point
            }
        }
    }

    @Test
    @Order(9)
    void aSplitBrainNeverSpreadsNewSessionsTheNewerPromotionGetsThemAll() throws Exception {
        String old = cluster.leader();
        String other = old.equals("postgresql0") ? "postgresql1" : "postgresql0";
        try (Connection onOld = connect(patroxy.jdbcUrl())) {
            assertThat(serverAddress(onOld)).isEqualTo(LocalCluster.address(old));
            // Patroni paused, the replica promoted by hand, then the DCS unreachable:
            // Patroni (3.0.2 and 4.0) answers /primary 200 on both nodes
            cluster.pause();
            cluster.promote(other);
            cluster.freezeZookeeper();
            await("both members answer /primary 200").atMost(Duration.ofSeconds(60))
                    .until(() -> http(old, "/primary") == 200 && http(other, "/primary") == 200);
            long oldTimeline = cluster.timeline(old);
            long newTimeline = cluster.timeline(other);
            assertThat(newTimeline).isGreaterThan(oldTimeline);

            await("Patroxy routes to the newer promotion").atMost(Duration.ofSeconds(30)).ignoreExceptions()
                    .until(() -> LocalCluster.address(other).equals(serverAddress(patroxy.jdbcUrl())));
            assertThatThrownBy(() -> serverAddress(onOld)).as("the session on the older primary is closed")
                    .isInstanceOf(SQLException.class);
            // for a fair comparison, let HAProxy see both members UP too (rise 2 at inter 3s)
            await("HAProxy marks both primaries UP").atMost(Duration.ofSeconds(30)).ignoreExceptions()
                    .until(() -> get("http://" + HAPROXY_HOST + ":7001/;csv").lines()
                            .filter(l -> l.startsWith("postgres,postgresql") && l.contains(",UP,")).count() == 2);
            Map<String, Integer> viaPatroxy = new java.util.TreeMap<>();
            Map<String, Integer> viaHaproxy = new java.util.TreeMap<>();
            for (int i = 0; i < 20; i++) {
                viaPatroxy.merge(serverAddress(patroxy.jdbcUrl()), 1, Integer::sum);
                viaHaproxy.merge(serverAddress(HAPROXY_URL), 1, Integer::sum);
            }
            System.out.printf("FIGURES split brain (timelines %d and %d): 20 new sessions through Patroxy went to %s, through HAProxy to %s%n",
                    oldTimeline, newTimeline, viaPatroxy, viaHaproxy);
            assertThat(viaPatroxy).containsOnlyKeys(LocalCluster.address(other));
            splitBrain = new SplitBrain(old, other); // the next scenario runs in it, then heals it
        } finally {
            if (splitBrain == null) {
                cluster.healSplit(other);
            }
        }
    }

    @Test
    @Order(10)
    void inTheSplitBrainAFrozenPatroniOnTheNewerPrimaryNeverSendsNewSessionsToTheOlderOne() throws Exception {
        assumeThat(splitBrain).as("the split brain the previous scenario leaves").isNotNull();
        String older = splitBrain.older();
        String newer = splitBrain.newer();
        try (Connection idle = connect(patroxy.jdbcUrl())) {
            assertThat(serverAddress(idle)).as("the idle session").isEqualTo(LocalCluster.address(newer));
            // Patroni alone stops answering (its checks time out); its PostgreSQL goes on serving
            cluster.freezePatroni(newer);
            long frozenAt = System.nanoTime();
            double frozenSeconds;
            double thawedAt;
            SessionSampler sampler = new SessionSampler(patroxy.jdbcUrl(), "http://127.0.0.1:" + STATS_PORT + "/;csv", newer,
                    Duration.ofMillis(250));
            try {
                try {
                    // a deliberate duration, not a condition (the sampler opens sessions meanwhile); the
                    // thaw is not delayed by a sample in flight, so the freeze stays under the DOWN bound
                    TimeUnit.NANOSECONDS.sleep(frozenAt + PATRONI_FREEZE.toNanos() - System.nanoTime());
                } finally {
                    cluster.thawPatroni(newer);
                    frozenSeconds = (System.nanoTime() - frozenAt) / 1e9;
                    thawedAt = sampler.now();
                }
                await("Patroxy shows the thawed member UP again").atMost(Duration.ofSeconds(30))
                        .until(() -> sampler.between(thawedAt, Double.MAX_VALUE).size() >= 10 && "UP".equals(sampler.lastWatchedStatus()));
            } finally {
                sampler.close();
            }
            String idleAfterThaw;
            try (Statement st = idle.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                rs.next();
                idleAfterThaw = "answered SELECT " + rs.getInt(1);
            } catch (SQLException e) {
                idleAfterThaw = "failed: " + e.getMessage();
            }
            var during = sampler.between(0, thawedAt);
            var after = sampler.between(thawedAt, Double.MAX_VALUE);
            System.out.printf("FIGURES frozen Patroni on the newer primary %s (%s) in the split brain, frozen %.1f s (DOWN not before 10 s; times below since the freeze): "
                    + "new sessions through Patroxy during the freeze %s, after the thaw %s (older primary %s); refused or held %d during, %d after; "
                    + "Patroxy showed %s as %s; the idle session on it %s%n",
                    newer, LocalCluster.address(newer), frozenSeconds, SessionSampler.sessionsPerAddress(during),
                    SessionSampler.sessionsPerAddress(after), LocalCluster.address(older), SessionSampler.refused(during),
                    SessionSampler.refused(after), newer, sampler.watchedStatusChanges(), idleAfterThaw);
            sampler.samples.stream().filter(s -> s.failure() != null)
                    .forEach(s -> System.out.printf("  no session at %.1f s: %s%n", s.atSeconds(), s.failure()));

            assertThat(sampler.samples).extracting(SessionSampler.Sample::watchedStatus)
                    .as("the frozen member is never marked DOWN (the freeze stays under timeout x fall)").doesNotContain("DOWN")
                    .as("Patroxy saw its checks fail").anyMatch(status -> status.startsWith("UP ") && status.endsWith("/3"));
            assertThat(sampler.samples).filteredOn(s -> LocalCluster.address(older).equals(s.address()))
                    .as("new sessions that reached the older primary").isEmpty();
            assertThat(idleAfterThaw).as("the idle session on the newer primary after the thaw").isEqualTo("answered SELECT 1");
        } finally {
            splitBrain = null;
            cluster.healSplit(newer); // thaws its Patroni too, whatever happened here
        }
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> LocalCluster.address(newer).equals(serverAddress(patroxy.jdbcUrl())));
    }

    @Test
    @Order(11)
    void sigtermStopsPatroxyCleanly() throws Exception {
        assertThat(patroxy.stop()).isIn(0, 143);
        assertThat(patroxy.logText()).contains("stopped");
    }

    // ------------------------------------------------------------------ helpers

    /** Polls a member's /primary every 50 ms and remembers when it first answered 200. */
    static final class PrimaryWatch implements AutoCloseable {
        private final java.util.concurrent.ScheduledExecutorService poller = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        private final java.util.concurrent.atomic.AtomicLong first200 = new java.util.concurrent.atomic.AtomicLong();

        PrimaryWatch(String member) {
            poller.scheduleWithFixedDelay(() -> {
                if (first200.get() == 0 && http(member, "/primary") == 200) {
                    first200.compareAndSet(0, System.nanoTime());
                }
            }, 0, 50, TimeUnit.MILLISECONDS);
        }

        long awaitFirst200(Duration max) {
            await().atMost(max).until(() -> first200.get() != 0);
            return first200.get();
        }

        @Override
        public void close() {
            poller.shutdownNow();
        }
    }

    static String get(String url) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(url).isEqualTo(200);
        return r.body();
    }

    /**
     * The sum of a Prometheus metric's samples, given as {@code name} or {@code name{k="v",...}}: every
     * sample of that name whose labels include those given (others, such as {@code listener}, may follow).
     */
    static double metricValue(String exposition, String series) {
        int brace = series.indexOf('{');
        String name = brace < 0 ? series : series.substring(0, brace);
        java.util.List<String> wanted = brace < 0 ? java.util.List.of()
                : java.util.List.of(series.substring(brace + 1, series.length() - 1).split(","));
        return exposition.lines()
                .filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
                .filter(l -> {
                    String labels = l.startsWith(name + "{") ? l.substring(name.length() + 1, l.lastIndexOf('}')) : "";
                    return java.util.List.of(labels.split(",")).containsAll(wanted);
                })
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    static int http(String member, String path) {
        return LocalCluster.http(member, path);
    }
}
