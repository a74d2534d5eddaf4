package io.patroxy.it;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A client as our users run one: inserts a row every 100 ms through an entry point,
 * reconnecting after any error, and remembers which writes were acknowledged and when.
 */
final class Writer implements AutoCloseable {

    /**
     * @param address, timeline where the write was acknowledged: the server's address and timeline as the
     *        INSERT returned them (a stamped table, {@link #STAMPED_COLUMNS}), else null and 0
     */
    record Ack(long id, long atNanos, String address, int timeline) {
    }

    /**
     * The columns of a stamped table: each row records the server that wrote it (its address and
     * timeline, as a primary's current WAL file names it), and the INSERT returns them, so the
     * client knows who acknowledged each write and a row can be matched against that later.
     */
    static final String STAMPED_COLUMNS = "id bigint PRIMARY KEY, addr inet DEFAULT inet_server_addr(), "
            + "tli int DEFAULT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int, "
            + "at timestamptz DEFAULT clock_timestamp()";

    private final String url;
    final String table;
    private final boolean newConnectionEachWrite;
    private final boolean stamped;
    private static final String ADMIN_SHUTDOWN = "57P01";
    /** Failed connection attempts: the client never got a session (refused, timed out, cut off by the proxy). */
    final List<String> connectFailures = new CopyOnWriteArrayList<>();
    /**
     * Work PostgreSQL itself killed in flight when it stopped: statements on an established session,
     * and logins already past the proxy that the stopping server ended with 57P01.
     */
    final List<String> statementFailures = new CopyOnWriteArrayList<>();
    private final Thread thread;
    final List<Ack> acks = new CopyOnWriteArrayList<>();
    final List<String> errors = new CopyOnWriteArrayList<>();
    private volatile boolean running = true;

    Writer(String url, String table) {
        this(url, table, false);
    }

    /** @param newConnectionEachWrite open a new connection for every write, as a web app without a pool */
    Writer(String url, String table, boolean newConnectionEachWrite) {
        this(url, table, newConnectionEachWrite, false);
    }

    /** @param stamped the table has {@link #STAMPED_COLUMNS}: each ack records the server's address and timeline */
    Writer(String url, String table, boolean newConnectionEachWrite, boolean stamped) {
        this.url = url;
        this.table = table;
        this.newConnectionEachWrite = newConnectionEachWrite;
        this.stamped = stamped;
        this.thread = new Thread(this::loop, "writer-" + table);
        thread.setDaemon(true);
        thread.start();
    }

    static Properties props() {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("password", "postgres");
        p.setProperty("connectTimeout", "40"); // pgjdbc applies it to the whole handshake: it must outlast the hold
        p.setProperty("socketTimeout", "40"); // above Patroxy's hold of 35 s: a held client waits, it does not give up
        p.setProperty("tcpKeepAlive", "true");
        // pgjdbc's default sslmode=prefer sends an SSLRequest, which Patroxy holds like a StartupMessage while no leader
        // is known (never 'N' for a server); pgjdbc waits 5 s for its answer by default: above the hold, as docs/tls.md says
        p.setProperty("sslResponseTimeout", "40000");
        p.setProperty("ApplicationName", "patroxy-it");
        return p;
    }

    /**
     * A login PostgreSQL itself ended as it shut down, by the client's error message: after
     * authentication it sends its own 57P01; during authentication it closes without a word (it does
     * not write to a client mid-authentication), and Patroxy's 08006 says so.
     */
    static boolean killedInLoginByPostgres(String message) {
        return message.contains("terminating connection due to administrator command") && !message.contains("Patroxy")
                || message.contains("closed the connection during authentication without an error");
    }

    private void loop() {
        long next = 1;
        Connection c = null;
        while (running) {
            long tick = System.nanoTime();
            try {
                if (c == null) {
                    try {
                        c = DriverManager.getConnection(url, props());
                    } catch (SQLException e) {
                        if (ADMIN_SHUTDOWN.equals(e.getSQLState()) && !String.valueOf(e.getMessage()).contains("Patroxy")
                                || killedInLoginByPostgres(String.valueOf(e.getMessage()))) {
                            // PostgreSQL itself ended a connection that was already authenticating when it
                            // began to shut down: killed in flight, like a statement, not refused
                            statementFailures.add("during login: " + e.getSQLState() + " " + e.getMessage());
                        } else {
                            connectFailures.add(e.getSQLState() + " " + e.getMessage());
                        }
                        throw e;
                    }
                }
                String address = null;
                int timeline = 0;
                try (PreparedStatement st = c.prepareStatement("INSERT INTO " + table + "(id) VALUES (?)"
                        + (stamped ? " RETURNING host(addr), tli" : ""))) {
                    st.setLong(1, next);
                    if (stamped) {
                        try (java.sql.ResultSet rs = st.executeQuery()) { // autocommit: acknowledged once this returns
                            rs.next();
                            address = rs.getString(1);
                            timeline = rs.getInt(2);
                        }
                    } else {
                        st.executeUpdate(); // autocommit: acknowledged once this returns
                    }
                }
                acks.add(new Ack(next, System.nanoTime(), address, timeline));
                next++;
                if (newConnectionEachWrite) {
                    Jdbc.closeQuietly(c);
                    c = null;
                }
            } catch (SQLException e) {
                errors.add(e.getSQLState() + " " + e.getMessage());
                if (c != null) {
                    statementFailures.add(e.getSQLState() + " " + e.getMessage());
                }
                next++; // the outcome of this id is unknown: never reuse it
                Jdbc.closeQuietly(c);
                c = null;
            }
            if (!Jdbc.restOfRound(tick)) {
                break;
            }
        }
        Jdbc.closeQuietly(c);
    }


    /** Acks after {@code sinceNanos}. */
    long acksAfter(long sinceNanos) {
        return acks.stream().filter(a -> a.atNanos() > sinceNanos).count();
    }

    /** The write gap: the longest pause between two consecutive acknowledged writes of the whole run. */
    double longestGapSeconds() {
        long longest = 0;
        for (int i = 1; i < acks.size(); i++) {
            longest = Math.max(longest, acks.get(i).atNanos() - acks.get(i - 1).atNanos());
        }
        return longest / 1e9;
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(15_000);
    }
}
