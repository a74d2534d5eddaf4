package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.patroxy.config.MemberAddress;

/** The PostgreSQL-aware edge: first-message bounds, encryption requests, the hold, cancel routing, retries. */
class PostgresEdgeTest {

    private StubServer server;
    private ProxyFixture fx;
    private final List<String> firstMessages = new CopyOnWriteArrayList<>();
    private final List<int[]> cancels = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();

    /** A stub PostgreSQL that records SSLRequests and CancelRequests, and answers startups like {@link Pg#server}. */
    private final StubServer.Behaviour recording = socket -> {
        connections.incrementAndGet();
        DataInputStream in = new DataInputStream(socket.getInputStream());
        OutputStream out = socket.getOutputStream();
        while (true) {
            int len = in.readInt();
            int code = in.readInt();
            if (code == 80877103) {
                firstMessages.add("ssl");
                out.write('N');
                continue;
            }
            if (code == 80877102) {
                cancels.add(new int[] {in.readInt(), in.readInt()});
                socket.close();
                return;
            }
            in.readFully(new byte[len - 8]);
            firstMessages.add("startup");
            out.write(Pg.AUTH_OK_READY);
            StubServer.ECHO.serve(socket);
            return;
        }
    };

    private void start(StubServer.Behaviour behaviour, Duration hold) throws IOException {
        server = new StubServer(behaviour);
        fx = new ProxyFixture(List.of(new MemberAddress("pg0", "127.0.0.1", server.port(), 8008)),
                ProxyFixture.settings(100, Duration.ofMinutes(30), hold));
    }

    @AfterEach
    void stop() throws IOException {
        if (fx != null) {
            fx.close();
        }
        server.close();
    }

    private static Pg.Message send(Socket c, byte[] bytes) throws IOException {
        c.getOutputStream().write(bytes);
        return Pg.read(c.getInputStream());
    }

    @Test
    void aBadStartupLengthGetsAProtocolViolationAndNothingIsBuffered() throws IOException {
        start(recording, Duration.ZERO);
        fx.primary("pg0");
        for (int bad : new int[] {5, 100_000, -1}) {
            try (Socket c = fx.open()) {
                Pg.Message error = send(c, ByteBuffer.allocate(4).putInt(bad).array());
                assertThat(error.type()).isEqualTo('E');
                assertThat(error.field('S')).isEqualTo("FATAL");
                assertThat(error.field('C')).isEqualTo("08P01");
                assertThat(error.field('M')).isEqualTo("invalid length of startup packet: " + bad);
                assertThat(c.getInputStream().read()).isEqualTo(-1);
            }
        }
        assertThat(connections).hasValue(0);
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.closes(CloseCause.PROTOCOL_ERROR) == 3);
    }

    @Test
    void anUnknownProtocolVersionIsRefused() throws IOException {
        start(recording, Duration.ZERO);
        fx.primary("pg0");
        try (Socket c = fx.open()) {
            byte[] v2 = ByteBuffer.allocate(9).putInt(9).putInt(2 << 16).put((byte) 0).array();
            assertThat(send(c, v2).field('M')).startsWith("unsupported frontend protocol 2.0");
        }
    }

    @Test
    void withALeaderTheSslRequestGoesToTheServerWhichAnswers() throws IOException {
        start(recording, Duration.ZERO);
        fx.primary("pg0");
        try (Socket c = fx.open()) {
            c.getOutputStream().write(Pg.sslRequest());
            assertThat(c.getInputStream().read()).isEqualTo('N');
            Pg.login(c);
            c.getOutputStream().write(7);
            assertThat(c.getInputStream().read()).isEqualTo(7);
        }
        assertThat(firstMessages).containsExactly("ssl", "startup");
    }

    /** Issue 13: never 'N' on a server's behalf — the SSLRequest is held like a StartupMessage and passed on. */
    @Test
    void withoutALeaderTheSslRequestIsHeldAndPassedOnWhenALeaderRises() throws Exception {
        start(recording, Duration.ofSeconds(20));
        fx.replica("pg0");
        try (Socket c = fx.open()) {
            c.getOutputStream().write(Pg.sslRequest());
            await().atMost(Duration.ofSeconds(5)).until(() -> fx.holds.size() == 1);
            assertThat(c.getInputStream().available()).as("no answer while held").isZero();
            assertThat(connections).hasValue(0);
            fx.primary("pg0");
            fx.primary("pg0"); // rise 2: now the leader
            assertThat(c.getInputStream().read()).as("the server's own answer").isEqualTo('N');
            Pg.login(c);
        }
        assertThat(firstMessages).containsExactly("ssl", "startup");
        assertThat(fx.sessions.heldConnections()).isEqualTo(1);
        assertThat(fx.holds.size()).isZero();
    }

    /** Issue 13: the leader cannot be reached within the hold — 'S', TLS with Patroxy's certificate, the FATAL inside TLS. */
    @Test
    void anSslRequestWhoseLeaderCannotBeReachedIsToldWhyInsideTls() throws IOException {
        // the leader's PostgreSQL refuses connections, its API still says primary: port 1, where nothing
        // listens and which lies below the ephemeral range (a freed stub port can meet a TCP self-connect)
        server = new StubServer(recording);
        // passthrough's own contexts, as Patroxy starts them: the certificate is made on this first need, off the loop
        fx = new ProxyFixture(List.of(new MemberAddress("pg0", "127.0.0.1", 1, 8008)),
                ProxyFixture.settings(100, Duration.ofMinutes(30), Duration.ofMillis(800)),
                TlsContexts.start(io.patroxy.config.TlsSettings.passthrough()));
        fx.primary("pg0");
        try (Socket c = fx.open()) {
            long start = System.nanoTime();
            TlsPeers.Recording trust = new TlsPeers.Recording();
            javax.net.ssl.SSLSocket tls = TlsPeers.sslRequest(c, trust);
            assertThat((System.nanoTime() - start) / 1_000_000).as("ms to answer: the hold").isBetween(700L, 5000L);
            assertThat(trust.seen[0].getSubjectX500Principal().getName()).as("Patroxy's ephemeral certificate").contains("CN=patroxy");
            Pg.Message error = send(tls, Pg.STARTUP);
            assertThat(error.field('C')).isEqualTo("08006");
            assertThat(error.field('M')).startsWith("could not connect to leader pg0");
        }
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.CONNECT_FAILED);
    }

    @Test
    void theHoldEndsWithCannotConnectNowSayingWhatPatroxySaw() throws IOException {
        start(recording, Duration.ofMillis(300));
        fx.fails("pg0", 1);
        try (Socket c = fx.open()) {
            Pg.Message error = send(c, Pg.STARTUP);
            assertThat(error.field('C')).isEqualTo("57P03");
            assertThat(error.field('M')).isEqualTo("no leader in cluster ?: pg0 DOWN (L4CON connection refused)");
        }
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.NO_LEADER);
    }

    @Test
    void aCancelRequestReachesTheMemberOfTheCancelledSession() throws IOException {
        start(recording, Duration.ZERO);
        fx.primary("pg0");
        try (Socket session = fx.connect()) { // the stub's BackendKeyData is 4242 / 77
            await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.cancelKeys().size() == 1);
            try (Socket cancel = fx.open()) {
                cancel.getOutputStream().write(Pg.cancelRequest(4242, 77));
                assertThat(cancel.getInputStream().read()).isEqualTo(-1);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> cancels.size() == 1);
            assertThat(cancels.get(0)).containsExactly(4242, 77);
            try (Socket unknown = fx.open()) {
                unknown.getOutputStream().write(Pg.cancelRequest(4242, 78));
                assertThat(unknown.getInputStream().read()).isEqualTo(-1);
            }
            session.getOutputStream().write(1);
            assertThat(session.getInputStream().read()).isEqualTo(1);
        }
        assertThat(cancels).hasSize(1); // the unknown key was dropped, never sent anywhere
        assertThat(connections).hasValue(2);
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.cancelKeys().size() == 0);
    }

    @Test
    void aServerThatSaysItIsShuttingDownBeforeAuthenticationIsRetriedWithTheKeptStartup() throws IOException {
        AtomicInteger attempt = new AtomicInteger();
        start(socket -> {
            if (attempt.incrementAndGet() == 1) {
                Pg.skipStartup(socket);
                socket.getOutputStream().write(Pg.errorResponse("57P03", "the database system is shutting down"));
                socket.close();
                return;
            }
            Pg.server(StubServer.ECHO).serve(socket);
        }, Duration.ofSeconds(10));
        fx.primary("pg0");
        try (Socket c = fx.connect()) {
            c.getOutputStream().write(3);
            assertThat(c.getInputStream().read()).isEqualTo(3);
        }
        assertThat(attempt).hasValue(2);
    }

    @Test
    void aServerThatDiesRightAfterDecliningEncryptionIsReplacedWithoutTheClientNoticing() throws IOException {
        AtomicInteger attempt = new AtomicInteger();
        start(socket -> {
            if (attempt.incrementAndGet() == 1) {
                DataInputStream in = new DataInputStream(socket.getInputStream());
                in.readFully(new byte[8]); // the SSLRequest
                socket.getOutputStream().write('N');
                socket.close(); // and gone, before the StartupMessage
                return;
            }
            Pg.server(StubServer.ECHO).serve(socket);
        }, Duration.ofSeconds(10));
        fx.primary("pg0");
        try (Socket c = fx.open()) {
            c.getOutputStream().write(Pg.sslRequest());
            assertThat(c.getInputStream().read()).isEqualTo('N');
            Pg.login(c);
            c.getOutputStream().write(5);
            assertThat(c.getInputStream().read()).isEqualTo(5);
        }
        assertThat(attempt).hasValue(2);
    }

    @Test
    void anErrorAfterTheHoldIsPassedOnAsTheServerSaidIt() throws IOException {
        start(socket -> {
            Pg.skipStartup(socket);
            socket.getOutputStream().write(Pg.errorResponse("28P01", "password authentication failed"));
            socket.close();
        }, Duration.ofSeconds(10));
        fx.primary("pg0");
        try (Socket c = fx.open()) {
            Pg.Message error = send(c, Pg.STARTUP);
            assertThat(error.field('C')).isEqualTo("28P01");
        }
    }
}
