package io.patroxy.it;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * The TLS clients of {@link TlsClusterIT}: psql (libpq) and pgjdbc, each asking the server what
 * it knows of its own backend ({@code pg_stat_ssl} for {@code pg_backend_pid()}): a session's
 * server leg is TLS only when PostgreSQL itself says so.
 */
final class TlsClients {

    /** One row, "address ssl version": the member that serves the session, and whether its backend's connection is TLS. */
    static final String WHO_AND_TLS = "SELECT host(inet_server_addr()) || ' ' || ssl || ' ' || coalesce(version, '-')"
            + " FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

    /** A session's answer: where it ran and what PostgreSQL says of its backend's connection. */
    record Served(String address, boolean serverSsl, String serverTlsVersion) {

        static Served parse(String line) {
            String[] f = line.trim().split(" ");
            if (f.length != 3) {
                throw new IllegalStateException("unexpected answer: '" + line + "'");
            }
            return new Served(f[0], "true".equals(f[1]), f[2]);
        }
    }

    /** What one psql run printed and how it ended. */
    record PsqlRun(int exit, String output, double seconds) {
    }

    private TlsClients() {
    }

    /** psql with this conninfo (libpq keywords) and {@code -c sql}, bounded; PGPASSWORD postgres. */
    static PsqlRun psql(String conninfo, String applicationName, String sql) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("psql", "user=postgres dbname=postgres connect_timeout=40 " + conninfo, "-XAtc", sql));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", "postgres");
        pb.environment().put("PGAPPNAME", applicationName);
        long t0 = System.nanoTime();
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("psql did not end within 60 s: " + out);
        }
        return new PsqlRun(p.exitValue(), out.trim(), (System.nanoTime() - t0) / 1e9);
    }

    /** A new session through psql that asks {@link #WHO_AND_TLS}; throws with psql's message when it fails. */
    static Served psqlSession(String conninfo, String applicationName) throws Exception {
        PsqlRun run = psql(conninfo, applicationName, WHO_AND_TLS);
        if (run.exit() != 0) {
            throw new IllegalStateException("psql exit " + run.exit() + ": " + run.output());
        }
        return Served.parse(run.output());
    }

    /** pgjdbc with {@code ssl=true}: verify-full against {@code ca} (the JDBC URL's host must be in the certificate). */
    static Properties jdbcTls(Path ca, String applicationName) {
        Properties p = Writer.props();
        p.setProperty("ssl", "true");
        p.setProperty("sslmode", "verify-full");
        p.setProperty("sslrootcert", ca.toString());
        p.setProperty("ApplicationName", applicationName);
        return p;
    }

    static Served jdbcSession(String url, Properties props) throws SQLException {
        try (Connection c = DriverManager.getConnection(url, props)) {
            return ask(c);
        }
    }

    static Served ask(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(WHO_AND_TLS)) {
            rs.next();
            return Served.parse(rs.getString(1));
        }
    }
}
