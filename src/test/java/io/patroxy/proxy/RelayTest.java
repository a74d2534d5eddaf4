package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.patroxy.config.MemberAddress;
import io.patroxy.config.ProxySettings;

/** The relay over real loopback sockets, in front of a stub server. */
class RelayTest {

    private StubServer server;
    private ProxyFixture fx;

    private void start(StubServer.Behaviour behaviour) throws IOException {
        start(behaviour, ProxyFixture.settings());
    }

    private void start(StubServer.Behaviour behaviour, ProxySettings settings) throws IOException {
        server = new StubServer(Pg.server(behaviour));
        fx = new ProxyFixture(List.of(new MemberAddress("pg0", "127.0.0.1", server.port(), 8008)), settings);
        fx.primary("pg0");
    }

    @AfterEach
    void stop() throws IOException {
        if (fx != null) {
            fx.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private static byte[] readExactly(InputStream in, int n) throws IOException {
        return in.readNBytes(n);
    }

    @Test
    void relaysBothWays() throws IOException {
        start(StubServer.ECHO);
        try (Socket c = fx.connect()) {
            c.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(readExactly(c.getInputStream(), 5), StandardCharsets.US_ASCII)).isEqualTo("hello");
            assertThat(fx.sessions.sessionsOn("pg0")).isEqualTo(1);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.activeSessions() == 0);
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.CLIENT_CLOSED);
        Session s = fx.finished.values().iterator().next();
        assertThat(s.clientToServerBytes()).isEqualTo(Pg.STARTUP.length + 5);
        assertThat(s.serverToClientBytes()).isEqualTo(Pg.AUTH_OK_READY.length + 5);
        assertThat(fx.sessions.traffic("pg0").total()).isEqualTo(1);
    }

    @Test
    void largePayloadsArriveIntactBothWays() throws Exception {
        start(StubServer.ECHO);
        byte[] payload = new byte[24 * 1024 * 1024];
        new Random(42).nextBytes(payload);
        try (Socket c = fx.connect()) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = c.getOutputStream();
                    for (int off = 0; off < payload.length; off += 100_000) {
                        out.write(payload, off, Math.min(100_000, payload.length - off));
                    }
                    c.shutdownOutput();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            byte[] echoed = c.getInputStream().readAllBytes(); // until the server closes after our FIN
            writer.get();
            assertThat(echoed.length).isEqualTo(payload.length);
            assertThat(MessageDigest.getInstance("SHA-256").digest(echoed))
                    .isEqualTo(MessageDigest.getInstance("SHA-256").digest(payload));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.activeSessions() == 0);
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.CLIENT_CLOSED);
    }

    @Test
    void aSlowReaderStopsTheServerInsteadOfFillingMemory() throws Exception {
        AtomicLong sent = new AtomicLong();
        int total = 64 * 1024 * 1024;
        start(socket -> {
            socket.getInputStream().read(); // read what the client sent, so our close is a FIN, not a reset
            OutputStream out = socket.getOutputStream();
            byte[] chunk = new byte[64 * 1024];
            for (int i = 0; i < total / chunk.length; i++) {
                out.write(chunk);
                sent.addAndGet(chunk.length);
            }
            socket.close();
        });
        try (Socket c = fx.connect()) {
            c.getOutputStream().write(1); // the server's behaviour starts on accept; one byte lets the relay start
            // the client reads nothing: the server must be held back by the socket buffers plus one water mark
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                    .until(() -> stalled(sent));
            assertThat(sent.get()).as("bytes the server could push while the client read nothing")
                    .isLessThan(24L * 1024 * 1024);
            long got = 0;
            InputStream in = c.getInputStream();
            byte[] buf = new byte[256 * 1024];
            for (int n; (n = in.read(buf)) >= 0;) {
                got += n;
            }
            assertThat(got).isEqualTo(total);
        }
    }

    private long lastSeen = -1;

    private boolean stalled(AtomicLong sent) {
        long now = sent.get();
        boolean same = now > 0 && now == lastSeen;
        lastSeen = now;
        return same;
    }

    @Test
    void halfCloseFromTheClientLetsTheServerFinishItsAnswer() throws IOException {
        start(socket -> {
            byte[] got = socket.getInputStream().readAllBytes(); // until the client's FIN arrives
            socket.getOutputStream().write(("got " + got.length).getBytes(StandardCharsets.US_ASCII));
            socket.close();
        });
        try (Socket c = fx.connect()) {
            c.getOutputStream().write(new byte[1000]);
            c.shutdownOutput();
            assertThat(new String(c.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("got 1000");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.activeSessions() == 0);
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.CLIENT_CLOSED);
    }

    @Test
    void theServersLastWordsReachTheClientWhenItCloses() throws IOException {
        start(socket -> {
            socket.getInputStream().read();
            socket.getOutputStream().write("FATAL: bye".getBytes(StandardCharsets.US_ASCII));
            socket.close();
        });
        try (Socket c = fx.connect()) {
            c.getOutputStream().write(1);
            assertThat(new String(c.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("FATAL: bye");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.activeSessions() == 0);
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.SERVER_CLOSED);
    }

    @Test
    void aServerClosingAfterTheClientsTerminateIsANormalClientClose() throws IOException {
        start(socket -> {
            socket.getInputStream().readNBytes(5); // Terminate
            socket.close(); // as PostgreSQL does
        });
        try (Socket c = fx.connect()) {
            c.getOutputStream().write(new byte[] {'X', 0, 0, 0, 4});
            assertThat(c.getInputStream().read()).isEqualTo(-1);
        }
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.CLIENT_CLOSED);
    }

    @Test
    void anAbruptClientResetClosesTheServerSide() throws IOException {
        start(StubServer.ECHO);
        Socket c = fx.connect();
        c.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
        readExactly(c.getInputStream(), 1);
        c.setSoLinger(true, 0);
        c.close(); // RST
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.activeSessions() == 0);
        assertThat(fx.onlyCause()).isIn(CloseCause.CLIENT_ERROR, CloseCause.CLIENT_CLOSED);
        // the stub echo closes its socket only when the proxy closed the server connection
        await().atMost(Duration.ofSeconds(5)).until(() -> server.accepted.get(0).isClosed());
    }

    @Test
    void noLeaderClosesTheClientAtOnceAndCountsIt() throws IOException {
        start(StubServer.ECHO);
        fx.replica("pg0");
        fx.replica("pg0");
        fx.replica("pg0");
        assertThat(fx.cluster.view().leader()).isNull();
        try (Socket c = fx.open()) {
            c.getOutputStream().write(Pg.STARTUP);
            Pg.Message error = Pg.read(c.getInputStream());
            assertThat(error.type()).isEqualTo('E');
            assertThat(error.field('C')).isEqualTo("57P03");
            assertThat(error.field('M')).isEqualTo("no leader in cluster ?: pg0 DOWN (L7STS 503, replica)");
            assertThat(c.getInputStream().read()).isEqualTo(-1);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.activeSessions() == 0);
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.NO_LEADER);
        assertThat(fx.sessions.refusedConnections()).isEqualTo(1);
        assertThat(server.accepted).isEmpty();
    }

    @Test
    void maxconnIsEnforced() throws IOException {
        start(StubServer.ECHO, ProxyFixture.settings(2, Duration.ofMinutes(30)));
        try (Socket a = fx.connect(); Socket b = fx.connect()) {
            for (Socket s : List.of(a, b)) {
                s.getOutputStream().write(7);
                assertThat(s.getInputStream().read()).isEqualTo(7);
            }
            try (Socket third = fx.open()) {
                third.getOutputStream().write(Pg.STARTUP);
                Pg.Message error = Pg.read(third.getInputStream());
                assertThat(error.field('C')).isEqualTo("53300");
                assertThat(error.field('M')).contains("maxconn of 2");
                assertThat(third.getInputStream().read()).isEqualTo(-1);
            }
            assertThat(fx.sessions.closes(CloseCause.MAXCONN)).isEqualTo(1);
            assertThat(fx.sessions.refusedConnections()).isEqualTo(1);
            assertThat(fx.sessions.maxActiveSessions()).isEqualTo(2);
        }
    }

    @Test
    void anUnreachableLeaderIsRetriedThenTheClientIsClosed() throws IOException {
        // port 1: nothing listens (connection refused), and it lies below the ephemeral range, so a
        // connect can never meet its own source port (a TCP self-connect, which a freed stub port can)
        int port = 1;
        fx = new ProxyFixture(List.of(new MemberAddress("pg0", "127.0.0.1", port, 8008)), ProxyFixture.settings());
        fx.primary("pg0");
        try (Socket c = fx.open()) {
            c.getOutputStream().write(Pg.STARTUP);
            Pg.Message error = Pg.read(c.getInputStream());
            assertThat(error.field('C')).isEqualTo("08006");
            assertThat(error.field('M')).startsWith("could not connect to leader pg0 at 127.0.0.1:" + port);
            assertThat(c.getInputStream().read()).isEqualTo(-1);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.activeSessions() == 0);
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.CONNECT_FAILED);
        assertThat(fx.sessions.traffic("pg0").connectErrors()).isEqualTo(4); // first try + 3 retries
    }

    @Test
    void anIdleClientIsClosedAfterTheClientTimeout() throws IOException {
        start(StubServer.ECHO, ProxyFixture.settings(100, Duration.ofMillis(300)));
        try (Socket c = fx.connect()) {
            c.getOutputStream().write(1);
            assertThat(c.getInputStream().read()).isEqualTo(1);
            assertThat(c.getInputStream().read()).isEqualTo(-1);
        }
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.CLIENT_TIMEOUT);
    }

    @Test
    void shutdownClosesSessionsLeftAfterTheGracePeriod() throws IOException {
        start(StubServer.ECHO);
        try (Socket c = fx.connect()) {
            c.getOutputStream().write(1);
            assertThat(c.getInputStream().read()).isEqualTo(1);
            fx.proxy.shutdown(Duration.ofMillis(200));
            assertThat(c.getInputStream().read()).isEqualTo(-1);
        }
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.SHUTDOWN);
        fx = null;
    }

    @Test
    void sessionsThatEndDuringTheGracePeriodEndNormally() throws Exception {
        start(StubServer.ECHO);
        Socket c = fx.connect();
        c.getOutputStream().write(1);
        assertThat(c.getInputStream().read()).isEqualTo(1);
        CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> fx.proxy.shutdown(Duration.ofSeconds(10)));
        await().atMost(Duration.ofSeconds(2)).until(() -> {
            try (Socket probe = new Socket(fx.address.getAddress(), fx.address.getPort())) {
                return false;
            } catch (IOException refused) {
                return true; // no longer accepting
            }
        });
        c.close();
        shutdown.get();
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.CLIENT_CLOSED);
        fx = null;
    }
}
