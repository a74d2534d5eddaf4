package io.patroxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 13 on the real cluster: a TLS-only two-node cluster ({@code CLUSTER_SSL=1}: ssl = on,
 * pg_hba {@code hostssl} only, certificates from a test CA made with openssl), Patroxy in front of
 * it twice — in {@code terminate} with a certificate from the same CA and a verify-full TLS leg to
 * PostgreSQL, and in {@code passthrough} with a 2 s hold. psql and pgjdbc go through a planned
 * switchover and a hard kill of the leader with a new session every 100 ms; PostgreSQL itself
 * ({@code pg_stat_ssl}) says whether each backend's connection is TLS. The last scenario leaves the
 * cluster with no leader at all.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TlsClusterIT {

    static final int TERMINATE = 6462;
    static final int PASSTHROUGH = 6463;
    static final Duration EVERY = Duration.ofMillis(100);

    static LocalCluster cluster;
    static PatroxyProcess terminate;
    static PatroxyProcess passthrough;
    static Path ca;
    static final String HOST = LocalCluster.besideAddress();

    @BeforeAll
    static void startClusterAndPatroxy() {
        cluster = new LocalCluster(true).up(2);
        System.out.println("FIGURES TLS cluster: Patroni " + cluster.patroniVersion() + ", 2 nodes, hostssl only");
        ca = LocalCluster.caFile();
        Path[] cert = cluster.issueCertificate("patroxy", HOST);
        String members = LocalCluster.membersSpec(2);
        terminate = new PatroxyProcess(HOST, TERMINATE, 7210, Map.of(
                "PATROXY_MEMBERS", members,
                "PATROXY_TLS_MODE", "terminate",
                "PATROXY_TLS_CERT_FILE", cert[0].toString(),
                "PATROXY_TLS_KEY_FILE", cert[1].toString(),
                "PATROXY_SERVER_TLS_MODE", "verify-full",
                "PATROXY_SERVER_TLS_CA_FILE", ca.toString()));
        passthrough = new PatroxyProcess(HOST, PASSTHROUGH, 7211, Map.of(
                "PATROXY_MEMBERS", members,
                "PATROXY_TLS_MODE", "passthrough",
                "PATROXY_HOLD_TIMEOUT", "2s"));
    }

    @AfterAll
    static void stopEverything() throws Exception {
        LocalCluster.stopAll(cluster, terminate, passthrough);
    }

    /**
     * psql's connection keywords through Patroxy on {@code port}. Through {@code terminate} with a
     * TLS server leg, SCRAM channel binding cannot cross (the client would bind to Patroxy's
     * certificate, PostgreSQL to its own): the cluster's passwords are SCRAM (PostgreSQL 15's
     * default), so these clients take one of the documented choices, {@code channel_binding=disable}.
     */
    static String via(int port) {
        return "host=" + HOST + " port=" + port + " " + (port == TERMINATE ? "channel_binding=disable " : "");
    }

    /** pgjdbc {@code ssl=true} (verify-full) through Patroxy on {@code port}; through terminate without channel binding (see {@link #via}). */
    static java.util.Properties jdbcTls(int port, String applicationName) {
        java.util.Properties p = TlsClients.jdbcTls(ca, applicationName);
        if (port == TERMINATE) {
            p.setProperty("channelBinding", "disable");
        }
        return p;
    }

    static String jdbcUrl(int port) {
        return "jdbc:postgresql://" + HOST + ":" + port + "/postgres";
    }

    static String rootCert() {
        return "sslrootcert=" + ca + " ";
    }

    // ------------------------------------------------------------------ the cluster itself

    @Test
    @Order(1)
    void theClusterTakesTlsOnlyAndItsMembersReplicateOverTls() throws Exception {
        String leader = cluster.leader();
        String direct = "host=" + LocalCluster.address(leader) + " port=5432 ";
        TlsClients.Served s = TlsClients.psqlSession(direct + "sslmode=verify-full " + rootCert(), "tls-direct");
        assertThat(s.address()).isEqualTo(LocalCluster.address(leader));
        assertThat(s.serverSsl()).as("pg_stat_ssl of a direct verify-full session").isTrue();

        TlsClients.PsqlRun plain = TlsClients.psql(direct + "sslmode=disable", "tls-direct", "SELECT 1");
        assertThat(plain.exit()).as(plain.output()).isEqualTo(2);
        assertThat(plain.output()).contains("no pg_hba.conf entry for host").contains("no encryption");

        TlsClients.PsqlRun walsenders = TlsClients.psql(direct + "sslmode=verify-full " + rootCert(), "tls-direct",
                "SELECT count(*) FILTER (WHERE s.ssl) || '/' || count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)");
        assertThat(walsenders.output()).as("TLS walsenders / walsenders on the leader").isEqualTo("1/1");
    }

    // ------------------------------------------------------------------ terminate

    @Test
    @Order(2)
    void terminateShowsPatroxysCertificateAndEverySessionIsTlsOnTheServerLegToo() throws Exception {
        String leader = LocalCluster.address(cluster.leader());
        await("Patroxy routes to the leader").atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> TlsClients.psqlSession(via(TERMINATE) + "sslmode=require", "tls-term").address().equals(leader));
        for (String sslmode : List.of("sslmode=require", "sslmode=verify-full " + rootCert(), "sslmode=disable")) {
            TlsClients.Served s = TlsClients.psqlSession(via(TERMINATE) + sslmode, "tls-term");
            assertThat(s).as("psql " + sslmode).isEqualTo(new TlsClients.Served(leader, true, s.serverTlsVersion()));
        }
        TlsClients.Served jdbc = TlsClients.jdbcSession(jdbcUrl(TERMINATE), jdbcTls(TERMINATE, "tls-term"));
        assertThat(jdbc.address()).isEqualTo(leader);
        assertThat(jdbc.serverSsl()).as("pgjdbc ssl=true: the server leg").isTrue();

        // the certificate a client sees is Patroxy's, not the member's
        TlsClients.PsqlRun asMember = TlsClients.psql("host=" + cluster.leader() + " hostaddr=" + HOST + " port=" + TERMINATE
                + " sslmode=verify-full " + rootCert(), "tls-term", "SELECT 1");
        assertThat(asMember.exit()).as(asMember.output()).isEqualTo(2);
        assertThat(asMember.output()).contains("does not match host name \"" + cluster.leader() + "\"");

        // what a SCRAM client that keeps libpq's default channel_binding=prefer gets (docs/tls.md)
        TlsClients.PsqlRun binding = TlsClients.psql("host=" + HOST + " port=" + TERMINATE + " sslmode=require", "tls-term", "SELECT 1");
        System.out.printf("FIGURES TLS terminate: psql with SCRAM and channel_binding=prefer (libpq's default): exit %d, %s%n",
                binding.exit(), binding.output().replace('\n', ' '));
    }

    /**
     * PostgreSQL that ends a backend in the middle of a login (SIGTERM, as every backend gets at a
     * fast shutdown) writes nothing to the client — it does not risk writing mid-authentication.
     * Directly, the client's connection vanishes; through Patroxy ({@code terminate}) it gets
     * Patroxy's FATAL 08006 saying what happened. RealClusterIT does the same in plaintext.
     */
    @Test
    @Order(2)
    void aBackendEndedInTheMiddleOfALoginLeavesTheClientPatroxysFatalNotAVanishedConnection() throws Exception {
        String leader = cluster.leader();
        assertThat(MidLogin.ended(LocalCluster.address(leader), 5432, leader, true)).as("directly to PostgreSQL").isEqualTo("EOF");
        assertThat(MidLogin.ended(HOST, TERMINATE, leader, true)).as("through Patroxy")
                .startsWith("E").contains("C08006").contains("closed the connection during authentication without an error");
    }

    @Test
    @Order(3)
    void terminateSwitchoverCostsNoFailedAttemptAndEveryBackendIsTls() throws Exception {
        String old = cluster.leader();
        try (BackendTlsWatch watch = new BackendTlsWatch(cluster.members(), ca, "tlsit-")) {
            Clients clients = new Clients(TERMINATE, true);
            try {
                clients.awaitServed(LocalCluster.address(old), 0, 5);
                String promoted = cluster.switchover();
                double after = clients.now();
                clients.awaitServed(LocalCluster.address(promoted), after, 5);
            } finally {
                clients.close();
                // the next scenario kills the leader: with synchronous_mode only a sync standby may take over, and the
                // demoted leader is one only after it has rejoined and caught up (switchover returns before that)
                cluster.waitHealthy();
            }
            System.out.printf("FIGURES TLS terminate, switchover %s: %s; %s; backends seen TLS by the server %d, plaintext %d%n",
                    old, clients.psql.summary(), clients.jdbc.summary(), watch.seen.size(), watch.plaintext.size());
            clients.assertEverySessionTls();
            // as RealClusterIT counts them: a failed connection attempt fails the test; a login that PostgreSQL itself
            // ended in flight as it shut down (its own 57P01 after authentication; during authentication it closes
            // without a word, and Patroxy's 08006 says so) is counted apart
            for (NewSessionLoop loop : List.of(clients.psql, clients.jdbc)) {
                List<NewSessionLoop.Attempt> killedByPostgres = loop.failures().stream()
                        .filter(a -> Writer.killedInLoginByPostgres(a.failure())).toList();
                System.out.printf("FIGURES TLS terminate, switchover: %s: %d logins killed in flight by PostgreSQL %s%n", loop.name,
                        killedByPostgres.size(), killedByPostgres);
                assertThat(loop.failures()).as("failed " + loop.name + " attempts").isEqualTo(killedByPostgres);
            }
            assertThat(watch.seen).as("backends of the clients seen in pg_stat_activity").isNotEmpty();
            assertThat(watch.plaintext).as("backends without TLS").isEmpty();
        }
    }

    @Test
    @Order(4)
    void terminateHardKillOfTheLeaderHoldsClientsThenServesThemOverTls() throws Exception {
        cluster.waitHealthy(); // a sync standby to fail over to, whatever the scenario before left
        String old = cluster.leader();
        try (BackendTlsWatch watch = new BackendTlsWatch(cluster.members(), ca, "tlsit-")) {
            Clients clients = new Clients(TERMINATE, true);
            String promoted;
            double killedAt;
            try {
                clients.awaitServed(LocalCluster.address(old), 0, 5);
                cluster.kill(old);
                killedAt = clients.now();
                promoted = cluster.waitLeaderOtherThan(old, Duration.ofSeconds(90));
                clients.awaitServed(LocalCluster.address(promoted), killedAt, 5);
            } finally {
                clients.close();
            }
            System.out.printf("FIGURES TLS terminate, hard kill of %s: %s; %s; backends seen TLS by the server %d, plaintext %d%n",
                    old, clients.psql.summary(), clients.jdbc.summary(), watch.seen.size(), watch.plaintext.size());
            clients.assertEverySessionTls();
            for (NewSessionLoop loop : List.of(clients.psql, clients.jdbc)) {
                // only an attempt caught in its password exchange with the leader at the kill may fail
                assertThat(loop.failures()).as(loop.name + ": failed attempts").hasSizeLessThanOrEqualTo(1);
                assertThat(loop.served()).as(loop.name + ": an attempt held through the failover, then served by " + promoted)
                        .anyMatch(a -> a.atSeconds() + a.tookSeconds() >= killedAt + 2 && a.tookSeconds() >= 2
                                && a.served().address().equals(LocalCluster.address(promoted)));
            }
            assertThat(watch.plaintext).as("backends without TLS").isEmpty();
        }
    }

    // ------------------------------------------------------------------ passthrough

    @Test
    @Order(5)
    void passthroughRelaysTheMembersOwnTlsAndAPlaintextClientMeetsHostssl() throws Exception {
        String leader = cluster.leader();
        await("Patroxy (passthrough) routes to the leader").atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> TlsClients.psqlSession(via(PASSTHROUGH) + "sslmode=require", "tls-pass").address()
                        .equals(LocalCluster.address(leader)));
        // the certificate a client sees is the member's own (SAN DNS:postgresql<i>)
        TlsClients.Served asMember = TlsClients.psqlSession("host=" + leader + " hostaddr=" + HOST + " port=" + PASSTHROUGH
                + " sslmode=verify-full " + rootCert(), "tls-pass");
        assertThat(asMember.serverSsl()).isTrue();
        for (String sslmode : List.of("sslmode=prefer", "sslmode=require")) {
            assertThat(TlsClients.psqlSession(via(PASSTHROUGH) + sslmode, "tls-pass").serverSsl()).as("psql " + sslmode).isTrue();
        }
        java.util.Properties preferring = Writer.props(); // pgjdbc's default sslmode=prefer
        assertThat(TlsClients.jdbcSession(jdbcUrl(PASSTHROUGH), preferring).serverSsl()).as("pgjdbc, sslmode=prefer").isTrue();
        TlsClients.PsqlRun plain = TlsClients.psql(via(PASSTHROUGH) + "sslmode=disable", "tls-pass", "SELECT 1");
        assertThat(plain.output()).as("a plaintext client through passthrough: PostgreSQL's own refusal")
                .contains("no pg_hba.conf entry for host").contains("no encryption");
    }

    @Test
    @Order(6)
    void passthroughWithNoLeaderHoldsTheSslRequestThenSendsPatroxysFatalInsideTls() throws Exception {
        for (String m : cluster.members()) {
            cluster.stop(m); // "not running" for the member killed before
        }
        await("Patroxy (passthrough) sees no member UP").atMost(Duration.ofSeconds(60)).ignoreExceptions()
                .until(() -> RealClusterIT.get("http://" + HOST + ":7211/;csv").lines().skip(1)
                        .noneMatch(l -> l.contains(",UP,") || l.contains(",UP ")));
        TlsClients.PsqlRun require = TlsClients.psql(via(PASSTHROUGH) + "sslmode=require", "tls-pass", "SELECT 1");
        TlsClients.PsqlRun prefer = TlsClients.psql(via(PASSTHROUGH) + "sslmode=prefer", "tls-pass", "SELECT 1");
        long t0 = System.nanoTime();
        SQLException jdbc = null;
        try {
            java.util.Properties p = Writer.props();
            p.setProperty("sslmode", "require");
            DriverManager.getConnection(jdbcUrl(PASSTHROUGH), p).close();
        } catch (SQLException e) {
            jdbc = e;
        }
        double jdbcSeconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("FIGURES TLS passthrough, no leader, hold 2 s: psql sslmode=require answered after %.1f s: %s;"
                + " sslmode=prefer after %.1f s (libpq retries in plaintext after an error over TLS); pgjdbc sslmode=require after %.1f s: %s%n",
                require.seconds(), require.output(), prefer.seconds(), jdbcSeconds, jdbc == null ? "connected" : jdbc.getMessage());
        assertThat(require.exit()).as(require.output()).isEqualTo(2);
        assertThat(require.output()).contains("FATAL:").contains("no leader").doesNotContain("does not support SSL");
        assertThat(require.seconds()).as("psql held about the hold (2 s), generous bounds").isBetween(1.5, 15.0);
        assertThat((Throwable) jdbc).as("pgjdbc sslmode=require").isNotNull();
        assertThat(jdbc.getSQLState()).isEqualTo("57P03");
        assertThat(jdbc.getMessage()).contains("no leader");
        assertThat(jdbcSeconds).isBetween(1.5, 15.0);
        assertThat(prefer.output()).contains("no leader");
    }

    // ------------------------------------------------------------------ clients

    /** psql (sslmode require and verify-full in turn) and pgjdbc (ssl=true, verify-full), each a new session every 100 ms. */
    static final class Clients {
        final NewSessionLoop psql;
        final NewSessionLoop jdbc;

        Clients(int port, boolean verifyPatroxy) {
            AtomicInteger n = new AtomicInteger();
            long start = System.nanoTime();
            psql = new NewSessionLoop("psql", start, EVERY, () -> TlsClients.psqlSession(via(port)
                    + (n.getAndIncrement() % 2 == 0 || !verifyPatroxy ? "sslmode=require" : "sslmode=verify-full " + rootCert()),
                    "tlsit-psql"));
            java.util.Properties props = jdbcTls(port, "tlsit-jdbc");
            jdbc = new NewSessionLoop("pgjdbc", start, EVERY, () -> TlsClients.jdbcSession(jdbcUrl(port), props));
        }

        double now() {
            return psql.now();
        }

        void awaitServed(String address, double since, int sessions) {
            await("both clients served " + sessions + " times by " + address).atMost(Duration.ofSeconds(90))
                    .until(() -> psql.servedBy(address, since) >= sessions && jdbc.servedBy(address, since) >= sessions);
        }

        void assertEverySessionTls() {
            for (NewSessionLoop loop : List.of(psql, jdbc)) {
                assertThat(loop.served()).as(loop.name + ": sessions whose backend pg_stat_ssl says TLS")
                        .isNotEmpty().allMatch(a -> a.served().serverSsl());
            }
        }

        void close() throws InterruptedException {
            try {
                psql.close();
            } finally {
                jdbc.close();
            }
        }
    }
}
