package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.patroxy.config.MemberAddress;

/** HAProxy's on-marked-down shutdown-sessions, and Patroxy's leader-moved rule, on real sockets. */
class ShutdownSessionsTest {

    private StubServer pg0;
    private StubServer pg1;
    private ProxyFixture fx;

    private void start() throws IOException {
        startWith(Pg.server(StubServer.ECHO));
    }

    @AfterEach
    void stop() throws IOException {
        fx.close();
        pg0.close();
        pg1.close();
    }

    /** One whole protocol message there and back (the stub echoes), so the session ends between messages. */
    private static void roundTrip(Socket s) throws IOException {
        s.getOutputStream().write(Pg.query("SELECT 1"));
        assertThat(Pg.read(s.getInputStream()).text()).isEqualTo("SELECT 1\0");
    }

    @Test
    void sessionsSurviveUntilTheMemberIsMarkedDownThenCloseAtOnce() throws IOException {
        start();
        try (Socket a = fx.connect(); Socket b = fx.connect()) {
            roundTrip(a);
            roundTrip(b);
            fx.fails("pg0", 2); // UP 1/3: still UP, sessions untouched
            roundTrip(a);
            assertThat(fx.sessions.sessionsOn("pg0")).isEqualTo(2);
            fx.fails("pg0", 1); // DOWN
            for (Socket s : new Socket[] {a, b}) {
                Pg.Message farewell = Pg.read(s.getInputStream());
                assertThat(farewell.field('C')).isEqualTo("57P01");
                assertThat(farewell.field('M'))
                        .isEqualTo("terminating connection because member pg0 was marked DOWN by Patroxy (L4CON connection refused)");
                assertThat(s.getInputStream().read()).isEqualTo(-1);
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.activeSessions() == 0);
        assertThat(fx.sessions.closes(CloseCause.MEMBER_DOWN)).isEqualTo(2);
    }

    @Test
    void whenTheLeaderMovesSessionsOnTheOldLeaderAreClosedAndNewOnesGoToTheNewLeader() throws IOException {
        start();
        try (Socket old = fx.connect()) {
            roundTrip(old);
            assertThat(pg0.accepted).hasSize(1);
            // switchover: pg0 answers 503 (UP 2/3), pg1 passes twice and rises
            fx.replica("pg0");
            fx.primary("pg1");
            fx.primary("pg1");
            assertThat(fx.cluster.view().leaderName()).contains("pg1");
            assertThat(Pg.read(old.getInputStream()).field('M'))
                    .isEqualTo("terminating connection because the leader moved from pg0 to pg1 (Patroxy)");
            assertThat(old.getInputStream().read()).isEqualTo(-1);
            try (Socket fresh = fx.connect()) {
                roundTrip(fresh);
                assertThat(pg1.accepted).hasSize(1);
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.activeSessions() == 0);
        assertThat(fx.sessions.closes(CloseCause.LEADER_CHANGED)).isEqualTo(1);
    }

    /** A stub that answers a query with one DataRow, in two halves: the second only once {@code go} opens. */
    private static StubServer.Behaviour halfThenRest(java.util.concurrent.CountDownLatch go) {
        return Pg.server(socket -> {
            java.io.DataInputStream in = new java.io.DataInputStream(socket.getInputStream());
            in.readByte();
            in.readFully(new byte[in.readInt() - 4]); // the query
            byte[] row = java.nio.ByteBuffer.allocate(5 + 100).put((byte) 'D').putInt(104).array();
            java.io.OutputStream out = socket.getOutputStream();
            out.write(row, 0, 50);
            out.flush();
            try {
                if (go.await(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    out.write(row, 50, row.length - 50);
                    out.flush();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            in.read(); // until Patroxy closes
        });
    }

    private void startWith(StubServer.Behaviour pg0Behaviour) throws IOException {
        pg0 = new StubServer(pg0Behaviour);
        pg1 = new StubServer(Pg.server(StubServer.ECHO));
        fx = new ProxyFixture(List.of(new MemberAddress("pg0", "127.0.0.1", pg0.port(), 8008),
                new MemberAddress("pg1", "127.0.0.1", pg1.port(), 8008)), ProxyFixture.settings());
        fx.primary("pg0");
        fx.replica("pg1");
    }

    @Test
    void aDropMidMessageWaitsForTheEndOfTheMessageThenSaysWhy() throws IOException {
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        startWith(halfThenRest(go));
        try (Socket s = fx.connect()) {
            s.getOutputStream().write(Pg.query("SELECT big"));
            assertThat(s.getInputStream().readNBytes(50)).hasSize(50); // half a DataRow has arrived
            fx.fails("pg0", 3); // DOWN while the server is mid-message
            go.countDown(); // the server finishes its message
            assertThat(s.getInputStream().readNBytes(55)).hasSize(55);
            Pg.Message farewell = Pg.read(s.getInputStream());
            assertThat(farewell.field('C')).isEqualTo("57P01");
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void aDropMidMessageOfAStuckServerClosesWithoutAWord() throws IOException {
        startWith(halfThenRest(new java.util.concurrent.CountDownLatch(1)));
        try (Socket s = fx.connect()) {
            s.getOutputStream().write(Pg.query("SELECT big"));
            assertThat(s.getInputStream().readNBytes(50)).hasSize(50);
            long start = System.nanoTime();
            fx.fails("pg0", 3);
            assertThat(s.getInputStream().read()).isEqualTo(-1); // no ErrorResponse inside a half message
            assertThat((System.nanoTime() - start) / 1_000_000).isGreaterThanOrEqualTo(Session.DROP_BOUNDARY_WAIT.toMillis() - 50);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.closes(CloseCause.MEMBER_DOWN) == 1);
    }

    @Test
    void aReplicaGoingDownLeavesLeaderSessionsAlone() throws IOException {
        start();
        try (Socket s = fx.connect()) {
            roundTrip(s);
            fx.fails("pg1", 3);
            roundTrip(s);
        }
        assertThat(fx.sessions.closes(CloseCause.MEMBER_DOWN)).isZero();
    }

    /** Issue 9, failure 4: during the shutdown grace, drops still happen (the checks stop only after it). */
    @Test
    void duringTheShutdownGraceAMemberMarkedDownStillLosesItsSessions() throws Exception {
        start();
        try (Socket a = fx.connect()) {
            roundTrip(a);
            Thread stopping = new Thread(() -> fx.proxy.shutdown(Duration.ofSeconds(30)), "shutdown");
            stopping.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> {
                try (Socket probe = new Socket(fx.address.getAddress(), fx.address.getPort())) {
                    return false;
                } catch (IOException refused) {
                    return true; // no longer accepting: the grace has begun
                }
            });
            fx.fails("pg0", 3); // DOWN during the grace
            Pg.Message farewell = Pg.read(a.getInputStream());
            assertThat(farewell.field('C')).isEqualTo("57P01");
            assertThat(farewell.field('M')).contains("member pg0 was marked DOWN");
            stopping.join(Duration.ofSeconds(10).toMillis()); // ends early: no session left to wait for
            assertThat(stopping.isAlive()).as("the grace ends once no session is left").isFalse();
        }
        assertThat(fx.sessions.closes(CloseCause.MEMBER_DOWN)).isEqualTo(1);
        assertThat(fx.sessions.closes(CloseCause.SHUTDOWN)).isZero();
    }
}
