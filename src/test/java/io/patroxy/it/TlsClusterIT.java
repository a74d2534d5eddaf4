package io.patroxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 13's real-cluster proof, its first part: the TLS-only two-node cluster the Patroxy
 * scenarios run on ({@code CLUSTER_SSL=1}: ssl = on, pg_hba {@code hostssl} only, certificates
 * from a test CA made with openssl). The Patroxy scenarios (terminate, passthrough, switchover,
 * hard kill, no leader) join this class once the proxy's TLS is on main.
 */
class TlsClusterIT {

    static LocalCluster cluster;
    static Path ca;

    @BeforeAll
    static void startCluster() {
        cluster = new LocalCluster(true).up(2);
        System.out.println("FIGURES TLS cluster: Patroni " + cluster.patroniVersion() + ", 2 nodes, hostssl only");
        ca = LocalCluster.caFile();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    static String rootCert() {
        return "sslrootcert=" + ca + " ";
    }

    @Test
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
}
