package io.patroxy.it;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Set;

/** The integration tests' JDBC steps, as pgjdbc with the tests' settings ({@link Writer#props}) does them. */
final class Jdbc {

    private Jdbc() {
    }

    static Connection connect(String url) throws SQLException {
        return DriverManager.getConnection(url, Writer.props());
    }

    /** The address of the server a new session on {@code url} reaches. */
    static String serverAddress(String url) throws SQLException {
        try (Connection c = connect(url)) {
            return serverAddress(c);
        }
    }

    static String serverAddress(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT host(inet_server_addr())")) {
            rs.next();
            return rs.getString(1);
        }
    }

    static void exec(String url, String sql) throws SQLException {
        try (Connection c = connect(url); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /** Every id in {@code table}. */
    static Set<Long> ids(String url, String table) throws SQLException {
        Set<Long> ids = new HashSet<>();
        try (Connection c = connect(url); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT id FROM " + table)) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return ids;
    }

    /** Closes {@code c} if there is one; a connection already broken is no news. */
    static void closeQuietly(Connection c) {
        try {
            if (c != null) {
                c.close();
            }
        } catch (SQLException ignored) {
            // already broken
        }
    }

    /**
     * The test clients' own pace, not a test wait: sleeps what is left of 100 ms since {@code tickNanos}
     * ({@link System#nanoTime()} at the start of the round); false when interrupted.
     */
    static boolean restOfRound(long tickNanos) {
        long sleep = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(100) - (System.nanoTime() - tickNanos);
        if (sleep > 0) {
            try {
                java.util.concurrent.TimeUnit.NANOSECONDS.sleep(sleep);
            } catch (InterruptedException e) {
                return false;
            }
        }
        return true;
    }
}
