package io.patroxy.it;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Watches, on every member at once, the backends of the clients under test (application_name
 * starting with a prefix) in {@code pg_stat_activity} joined with {@code pg_stat_ssl}: the server's
 * own word on whether each backend's connection is TLS, whoever opened it. Polls every 100 ms over
 * one direct TLS session per member (verify-full against the cluster's CA), reconnecting after a
 * failure (a stopped or killed member).
 */
final class BackendTlsWatch implements AutoCloseable {

    private final String prefix;
    private final Properties props;
    private final List<String> members;
    private final Map<String, Connection> sessions = new HashMap<>();
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor();
    /** "member pid application_name" of every backend seen, and of those that were not TLS. */
    final Set<String> seen = ConcurrentHashMap.newKeySet();
    final Set<String> plaintext = ConcurrentHashMap.newKeySet();

    BackendTlsWatch(List<String> members, Path ca, String prefix) {
        this.members = members;
        this.prefix = prefix;
        this.props = TlsClients.jdbcTls(ca, "tls-watch");
        props.setProperty("connectTimeout", "2");
        props.setProperty("socketTimeout", "5");
        thread.scheduleWithFixedDelay(this::pollAll, 0, 100, TimeUnit.MILLISECONDS);
    }

    private void pollAll() {
        for (String m : members) {
            try {
                Connection c = sessions.get(m);
                if (c == null) {
                    c = DriverManager.getConnection("jdbc:postgresql://" + LocalCluster.address(m) + ":5432/postgres", props);
                    sessions.put(m, c);
                }
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT a.pid, a.application_name, s.ssl"
                        + " FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name LIKE '" + prefix + "%'")) {
                    while (rs.next()) {
                        String backend = m + " " + rs.getLong(1) + " " + rs.getString(2);
                        seen.add(backend);
                        if (!rs.getBoolean(3)) {
                            plaintext.add(backend);
                        }
                    }
                }
            } catch (SQLException | RuntimeException e) {
                Jdbc.closeQuietly(sessions.remove(m));
            }
        }
    }


    @Override
    public void close() throws InterruptedException {
        thread.shutdown();
        if (!thread.awaitTermination(30, TimeUnit.SECONDS)) {
            thread.shutdownNow();
        }
        sessions.values().forEach(Jdbc::closeQuietly);
    }
}
