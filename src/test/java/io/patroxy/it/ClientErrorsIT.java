package io.patroxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What real clients show when Patroxy refuses them: psql (libpq) and pgjdbc print Patroxy's
 * FATAL message and SQLSTATE instead of "server closed the connection unexpectedly".
 * Patroxy runs as packaged, in front of a member that does not exist.
 */
class ClientErrorsIT {

    static final int PORT = 6499;
    static PatroxyProcess patroxy;

    @BeforeAll
    static void start() {
        patroxy = new PatroxyProcess(PORT, 7199, Map.of(
                "PATROXY_MEMBERS", "ghost=127.0.0.9:5432:8008",
                "PATROXY_HOLD_TIMEOUT", "1s"));
    }

    @AfterAll
    static void stop() throws InterruptedException {
        patroxy.close();
    }

    @Test
    void psqlShowsPatroxysNoLeaderError() throws Exception {
        for (String sslmode : List.of("disable", "prefer")) {
            ProcessBuilder pb = new ProcessBuilder("psql", "host=127.0.0.1 port=" + PORT + " user=postgres dbname=postgres "
                    + "connect_timeout=20 sslmode=" + sslmode, "-c", "SELECT 1").redirectErrorStream(true);
            pb.environment().put("PGPASSWORD", "postgres");
            Process p = pb.start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(out).isEqualTo(2);
            assertThat(out).as("psql with sslmode=" + sslmode)
                    .contains("FATAL:  no leader in cluster ?: ghost DOWN (L4CON connection refused)");
        }
    }

    @Test
    void jdbcShowsPatroxysNoLeaderErrorWithItsSqlState() {
        assertThatThrownBy(() -> DriverManager.getConnection(patroxy.jdbcUrl(), Writer.props()).close())
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getSQLState()).isEqualTo("57P03");
                    assertThat(e.getMessage()).contains("no leader in cluster ?: ghost DOWN (L4CON connection refused)");
                });
    }
}
