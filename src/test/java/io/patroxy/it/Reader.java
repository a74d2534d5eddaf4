package io.patroxy.it;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A reading client beside {@link Writer}: on one kept connection (reconnecting after any error),
 * every 100 ms it asks the server where it is and whether it is in recovery — through a primary
 * listener the answer must always come from a primary.
 */
final class Reader implements AutoCloseable {

    record Read(long atNanos, String address, boolean inRecovery) {
    }

    private final String url;
    private final Thread thread;
    final List<Read> reads = new CopyOnWriteArrayList<>();
    /** When each failed read or connection attempt ended, and why. */
    final List<String> errors = new CopyOnWriteArrayList<>();
    final List<Long> errorTimes = new CopyOnWriteArrayList<>();
    private volatile boolean running = true;

    Reader(String url) {
        this.url = url;
        this.thread = new Thread(this::loop, "reader");
        thread.setDaemon(true);
        thread.start();
    }

    private void loop() {
        Connection c = null;
        while (running) {
            long tick = System.nanoTime();
            try {
                if (c == null) {
                    c = DriverManager.getConnection(url, Writer.props());
                }
                try (Statement st = c.createStatement();
                        ResultSet rs = st.executeQuery("SELECT host(inet_server_addr()), pg_is_in_recovery()")) {
                    rs.next();
                    reads.add(new Read(System.nanoTime(), rs.getString(1), rs.getBoolean(2)));
                }
            } catch (SQLException e) {
                errors.add(e.getSQLState() + " " + e.getMessage());
                errorTimes.add(System.nanoTime());
                Jdbc.closeQuietly(c);
                c = null;
            }
            if (!Jdbc.restOfRound(tick)) {
                break;
            }
        }
        Jdbc.closeQuietly(c);
    }


    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(15_000);
    }
}
