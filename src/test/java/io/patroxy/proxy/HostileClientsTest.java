package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import io.patroxy.config.MemberAddress;
import io.patroxy.config.ProxySettings;

/**
 * Slow and hostile clients against a real listener: one that never sends its startup packet, one
 * that drips it, one that never reads its results, a flood of cancel requests with unknown keys.
 * Each is bounded (in time or in memory), and a normal session beside it keeps working.
 */
class HostileClientsTest {

    private static final int BIG = 32 * 1024 * 1024;
    private final AtomicLong bigSent = new AtomicLong();
    private StubServer server;
    private ProxyFixture fx;

    /** The stub: after the login, 'b' asks for a 32 MB answer; any other byte starts an echo. */
    private void start(Duration startupTimeout) throws IOException {
        server = new StubServer(Pg.server(socket -> {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            int first = in.read();
            if (first == 'b') {
                byte[] chunk = new byte[64 * 1024];
                for (int i = 0; i < BIG / chunk.length; i++) {
                    out.write(chunk);
                    bigSent.addAndGet(chunk.length);
                }
                socket.close();
                return;
            }
            out.write(first);
            StubServer.ECHO.serve(socket);
        }));
        ProxySettings settings = ProxyFixture.settings(100, Duration.ofMinutes(30)).withStartupTimeout(startupTimeout);
        fx = new ProxyFixture(List.of(new MemberAddress("pg0", "127.0.0.1", server.port(), 8008)), settings);
        fx.primary("pg0");
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

    /** A normal session, logged in, answering an echo. */
    private Socket normalSession() throws IOException {
        Socket s = fx.connect();
        assertWorks(s);
        return s;
    }

    private static void assertWorks(Socket s) throws IOException {
        byte[] ping = ("ping" + System.nanoTime()).getBytes(StandardCharsets.US_ASCII);
        s.getOutputStream().write(ping);
        assertThat(s.getInputStream().readNBytes(ping.length)).as("the normal session beside it answers").isEqualTo(ping);
    }

    private static Pg.Message errorThenEof(Socket s) throws IOException {
        Pg.Message m = Pg.read(s.getInputStream());
        assertThat(m.type()).isEqualTo('E');
        assertThat(s.getInputStream().read()).as("closed after the ErrorResponse").isEqualTo(-1);
        return m;
    }

    private long finishedWith(CloseCause cause) {
        return fx.finished.values().stream().filter(f -> f.cause() == cause).count();
    }

    @Test
    void clientsThatNeverSendTheirStartupPacketAreToldAndClosedAtTheStartupTimeout() throws Exception {
        start(Duration.ofSeconds(1));
        try (Socket normal = normalSession()) {
            List<Socket> silent = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                silent.add(fx.open());
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> finishedWith(CloseCause.STARTUP_TIMEOUT) == 50);
            for (Socket s : silent) {
                Pg.Message e = errorThenEof(s);
                assertThat(e.field('C')).isEqualTo("08P01");
                assertThat(e.field('M')).isEqualTo("no startup packet received within 1.0 s (patroxy.timeout.startup)");
                s.close();
            }
            assertWorks(normal);
            assertThat(fx.sessions.activeSessions()).as("only the normal session holds a maxconn slot").isEqualTo(1);
        }
    }

    @Test
    void aClientDrippingItsStartupPacketIsClosedAtTheStartupTimeout() throws Exception {
        start(Duration.ofSeconds(2));
        try (Socket normal = normalSession(); Socket drip = fx.open()) {
            byte[] startup = Pg.startup("a-very-patient-user-" + "x".repeat(40));
            long t0 = System.nanoTime();
            int sent = 0;
            try {
                for (; sent < startup.length; sent++) { // a byte every 100 ms: the whole packet would take 7 s
                    drip.getOutputStream().write(startup[sent]);
                    Thread.sleep(100); // the client's own pace (the thing under test), not a wait for Patroxy
                    if (sent % 5 == 0) {
                        assertWorks(normal);
                    }
                    if (finishedWith(CloseCause.STARTUP_TIMEOUT) == 1) {
                        break;
                    }
                }
            } catch (IOException closed) {
                // Patroxy closed it while we were still writing: what we expect
            }
            assertThat(sent).as("bytes dripped before the close").isLessThan(startup.length);
            await().atMost(Duration.ofSeconds(5)).until(() -> finishedWith(CloseCause.STARTUP_TIMEOUT) == 1);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(6));
            assertThat(errorThenEof(drip).field('C')).isEqualTo("08P01");
            assertThat(server.accepted).as("never routed: only the normal session reached the server").hasSize(1);
            assertWorks(normal);
        }
    }

    @Test
    void aClientThatNeverReadsHoldsTheServerBackWithBoundedMemory() throws Exception {
        start(ProxySettings.DEFAULT_STARTUP_TIMEOUT);
        try (Socket normal = normalSession(); Socket hog = fx.connect()) {
            hog.setReceiveBufferSize(64 * 1024);
            hog.getOutputStream().write('b'); // ask for 32 MB, then read nothing
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(new Stalled(bigSent));
            Session s = fx.sessions.open().stream()
                    .filter(x -> ((java.net.InetSocketAddress) x.client().remoteAddress()).getPort() == hog.getLocalPort())
                    .findFirst().orElseThrow();
            long pending = onLoop(s.client(), () -> pendingBytes(s.client()));
            assertThat(pending).as("bytes Patroxy holds for the client that does not read")
                    .isLessThanOrEqualTo(ProxyServer.WATER_MARK.high() + 64 * 1024L);
            assertThat(bigSent.get()).as("what the server could push: socket buffers plus one water mark").isLessThan(BIG / 2);
            for (int i = 0; i < 20; i++) {
                assertWorks(normal);
            }
            long got = 0;
            InputStream in = hog.getInputStream();
            byte[] buf = new byte[256 * 1024];
            while (got < BIG) {
                int n = in.read(buf);
                assertThat(n).isPositive();
                got += n;
            }
            assertThat(got).as("nothing lost once it reads").isEqualTo(BIG);
        }
    }

    @Test
    void aFloodOfCancelRequestsWithUnknownKeysOpensNoServerConnection() throws Exception {
        start(ProxySettings.DEFAULT_STARTUP_TIMEOUT);
        int flood = 500;
        try (Socket normal = normalSession()) {
            IntStream.range(0, flood).parallel().forEach(i -> {
                try (Socket c = fx.open()) {
                    c.getOutputStream().write(ByteBuffer.allocate(16).putInt(16).putInt(80877102)
                            .putInt(ThreadLocalRandom.current().nextInt()).putInt(ThreadLocalRandom.current().nextInt()).array());
                    assertThat(c.getInputStream().read()).as("closed without a word, as PostgreSQL does").isEqualTo(-1);
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
                if (i % 100 == 0) {
                    synchronized (normal) {
                        try {
                            assertWorks(normal);
                        } catch (IOException e) {
                            throw new AssertionError(e);
                        }
                    }
                }
            });
            await().atMost(Duration.ofSeconds(10)).until(() -> finishedWith(CloseCause.CANCEL_REQUEST) == flood);
            assertThat(server.accepted).as("no server connection for an unknown key").hasSize(1);
            assertThat(fx.sessions.activeSessions()).isEqualTo(1);
            assertWorks(normal);
        }
    }

    private static long pendingBytes(Channel c) {
        ChannelOutboundBuffer out = c.unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }

    private static long onLoop(Channel c, java.util.concurrent.Callable<Long> read) throws Exception {
        return c.eventLoop().submit(read).get();
    }

    /** True once the counter passed 1 MB and then stood still for three polls in a row. */
    private static final class Stalled implements java.util.concurrent.Callable<Boolean> {
        private final AtomicLong counter;
        private long last = -1;
        private int still;

        Stalled(AtomicLong counter) {
            this.counter = counter;
        }

        @Override
        public Boolean call() {
            long now = counter.get();
            still = now > 1_000_000 && now == last ? still + 1 : 0;
            last = now;
            return still >= 3;
        }
    }
}
