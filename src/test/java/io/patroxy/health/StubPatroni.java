package io.patroxy.health;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.sun.net.httpserver.HttpServer;

/**
 * A stand-in for one member's Patroni REST API, for tests of the health logic: answers like
 * Patroni's {@code /primary} (200 with role master, or 503 with role replica) — and on
 * {@code /replica} the other way round — hangs, or is down.
 */
public final class StubPatroni implements AutoCloseable {

    public enum Mode { PRIMARY, REPLICA, HANG, GARBAGE }

    private final int port;
    private volatile Mode mode = Mode.REPLICA;
    private volatile long timeline = 1;
    private volatile CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger requests = new AtomicInteger();
    private HttpServer server;

    public StubPatroni() throws IOException {
        server = create(0);
        port = server.getAddress().getPort();
    }

    private HttpServer create(int onPort) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", onPort), 50);
        s.setExecutor(Executors.newCachedThreadPool());
        s.createContext("/", exchange -> {
            requests.incrementAndGet();
            try {
                Mode m = mode;
                if (m == Mode.HANG) {
                    release.await(30, TimeUnit.SECONDS);
                    m = mode;
                }
                if (m == Mode.GARBAGE) {
                    exchange.getResponseBody().close();
                    return;
                }
                boolean primary = m == Mode.PRIMARY;
                boolean passes = exchange.getRequestURI().getPath().startsWith("/replica") ? !primary : primary;
                byte[] body = ("{\"state\":\"running\",\"role\":\"" + (primary ? "master" : "replica")
                        + "\",\"timeline\":" + timeline + "}").getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "application/json");
                exchange.sendResponseHeaders(passes ? 200 : 503, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        s.start();
        return s;
    }

    public int port() {
        return port;
    }

    public void mode(Mode m) {
        Mode was = mode;
        mode = m;
        if (was == Mode.HANG && m != Mode.HANG) {
            release.countDown();
            release = new CountDownLatch(1);
        }
    }

    public void timeline(long t) {
        timeline = t;
    }

    public int requests() {
        return requests.get();
    }

    /** Stops listening: checks now get "connection refused". */
    public synchronized void down() {
        if (server != null) {
            server.stop(0);
            server = null;
        }
    }

    /** Listens again on the same port. */
    public synchronized void up() throws IOException {
        if (server == null) {
            server = create(port);
        }
    }

    @Override
    public synchronized void close() {
        release.countDown();
        down();
    }
}
