package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.patroxy.proxy.Session.State;

/**
 * The session state machine on EmbeddedChannels, one event-loop turn at a time: each test plays
 * an interleaving that today's main got wrong (issue 9) and asserts the routing invariant.
 */
class SessionStateMachineTest {

    private final EmbeddedFrontEnd fe = new EmbeddedFrontEnd(Duration.ofMinutes(1));

    @AfterEach
    void nothingLeaks() {
        fe.closeAll();
        fe.assertNothingLeaked();
    }

    private EmbeddedChannel awaitingServerOn(String member) {
        EmbeddedChannel client = fe.client();
        fe.inbound(client, Pg.STARTUP);
        EmbeddedFrontEnd.Connect c = fe.lastConnect();
        assertThat(c.member().name()).isEqualTo(member);
        c.promise().setSuccess();
        assertThat(fe.session(client).state()).isEqualTo(State.AWAITING_SERVER);
        ByteBuf startup = c.server().readOutbound();
        startup.release();
        return client;
    }

    /** The client's kept StartupMessage, tried again, reached {@code member}, which logs it in: relayed there, the client hears only that. */
    private void retriedOnAndRelayed(String member, EmbeddedChannel client, Session s) {
        EmbeddedFrontEnd.Connect retry = fe.lastConnect();
        assertThat(retry.member().name()).isEqualTo(member);
        retry.promise().setSuccess();
        ByteBuf startup = retry.server().readOutbound();
        startup.release();
        fe.inbound(retry.server(), Pg.AUTH_OK_READY);
        assertThat(s.state()).isEqualTo(State.RELAYING);
        assertThat(s.member().name()).isEqualTo(member);
        assertThat(EmbeddedFrontEnd.drain(client)).isEqualTo(Pg.AUTH_OK_READY);
    }

    /** Failure 1: the leader moves, and the old server's first message is read before the queued drop runs. */
    @Test
    void aServerAnswerThatOvertakesTheDropNeverStartsARelayOnTheOldLeader() {
        fe.primary("n0", 1);
        EmbeddedChannel client = awaitingServerOn("n0");
        EmbeddedFrontEnd.Connect old = fe.lastConnect();
        fe.primary("n1", 2); // n1 rises on a newer timeline: the leader moves; the drop is queued, not run
        fe.primary("n1", 2);
        assertThat(fe.cluster.view().leaderName()).contains("n1");
        fe.inbound(old.server(), Pg.AUTH_OK_READY); // read first, in the same turn as nothing else
        Session s = fe.session(client);
        assertThat(s.state()).isNotIn(State.RELAYING, State.DRAINING);
        assertThat(old.server().isActive()).as("the old leader's connection is given up").isFalse();
        assertThat(EmbeddedFrontEnd.drain(client)).as("the client heard nothing from the old leader").isEmpty();
        fe.runAll(); // the queued drop finds an attempt on the leader, or none: it must not hurt
        fe.advance(Duration.ofMillis(300));
        retriedOnAndRelayed("n1", client, s);
    }

    /** Failure 1, its other half: a stale drop queued for the first attempt leaves a healthy second attempt alone. */
    @Test
    void aStaleDropDoesNotAbandonAHealthySecondAttempt() {
        fe.primary("n0", 1);
        EmbeddedChannel client = awaitingServerOn("n0");
        fe.timeout("n0");
        fe.timeout("n0");
        fe.timeout("n0"); // DOWN: a drop is queued
        fe.runAll();
        fe.primary("n0", 1); // back
        fe.primary("n0", 1); // UP: the leader again, another notice queued
        fe.advance(Duration.ofMillis(300));
        EmbeddedFrontEnd.Connect second = fe.lastConnect();
        assertThat(second.member().name()).isEqualTo("n0");
        second.promise().setSuccess();
        fe.runAll(); // whatever was queued runs now
        assertThat(second.server().isActive()).isTrue();
        ByteBuf startup = second.server().readOutbound();
        startup.release();
        fe.inbound(second.server(), Pg.AUTH_OK_READY);
        assertThat(fe.session(client).state()).isEqualTo(State.RELAYING);
    }

    /** Failure 3: leader → none (a same-timeline split brain) → another leader drops the old leader's sessions. */
    @Test
    void leaderThenNoneThenAnotherLeaderDropsTheOldLeadersSessions() {
        fe.primary("n0", 4);
        EmbeddedChannel client = awaitingServerOn("n0");
        EmbeddedFrontEnd.Connect c = fe.lastConnect();
        fe.inbound(c.server(), Pg.AUTH_OK_READY);
        Session s = fe.session(client);
        assertThat(s.state()).isEqualTo(State.RELAYING);
        EmbeddedFrontEnd.drain(client);
        fe.primary("n1", 4);
        fe.primary("n1", 4); // n1 UP on the same timeline: split brain, no leader
        fe.runAll();
        assertThat(fe.cluster.view().splitBrain()).isTrue();
        assertThat(s.state()).as("no leader: a relaying session on an UP member stays").isEqualTo(State.RELAYING);
        fe.primary("n1", 5); // n1 on a newer timeline: n1 leads, n0 is still UP
        fe.runAll();
        assertThat(fe.cluster.view().leaderName()).contains("n1");
        assertThat(s.state()).isEqualTo(State.CLOSED);
        assertThat(s.cause()).isEqualTo(CloseCause.LEADER_CHANGED);
        assertThat(new String(EmbeddedFrontEnd.drain(client), java.nio.charset.StandardCharsets.ISO_8859_1))
                .contains("57P01").contains("the leader moved from n0 to n1");
    }

    /** Failure 5: bytes after the server's 'N' to an SSLRequest (a FATAL while PostgreSQL stops) are kept, then acted on. */
    @Test
    void bytesAfterTheServersNAreKeptAndAFatalThereIsRetriedOnTheLeader() {
        fe.primary("n0", 1);
        EmbeddedChannel client = fe.client();
        fe.inbound(client, Pg.sslRequest());
        EmbeddedFrontEnd.Connect c = fe.lastConnect();
        c.promise().setSuccess();
        ByteBuf request = c.server().readOutbound();
        request.release();
        byte[] fatal = Pg.errorResponse("57P01", "terminating connection due to administrator command");
        byte[] answer = new byte[1 + fatal.length];
        answer[0] = 'N';
        System.arraycopy(fatal, 0, answer, 1, fatal.length);
        fe.inbound(c.server(), answer);
        c.server().checkException();
        client.checkException();
        assertThat(EmbeddedFrontEnd.drain(client)).containsExactly('N');
        fe.inbound(client, Pg.STARTUP);
        assertThat(c.server().isActive()).as("a server that said FATAL before authentication is given up").isFalse();
        fe.advance(Duration.ofMillis(300));
        EmbeddedFrontEnd.Connect retry = fe.lastConnect();
        assertThat(retry).isNotSameAs(c);
        retry.promise().setSuccess();
        ByteBuf startup = retry.server().readOutbound();
        assertThat(startup.readableBytes()).isEqualTo(Pg.STARTUP.length);
        startup.release();
        fe.inbound(retry.server(), Pg.AUTH_OK_READY);
        assertThat(fe.session(client).state()).isEqualTo(State.RELAYING);
        assertThat(EmbeddedFrontEnd.drain(client)).isEqualTo(Pg.AUTH_OK_READY);
    }

    /** Failure 7: while a drop waits for the server's message boundary, a writability change never turns client reads back on. */
    @Test
    void aDrainingSessionNeverReadsTheClientAgain() {
        fe.primary("n0", 1);
        EmbeddedChannel client = awaitingServerOn("n0");
        EmbeddedFrontEnd.Connect c = fe.lastConnect();
        fe.inbound(c.server(), Pg.AUTH_OK_READY);
        Session s = fe.session(client);
        assertThat(client.config().isAutoRead()).isTrue();
        EmbeddedFrontEnd.drain(client);
        fe.inbound(c.server(), new byte[] {'D', 0, 0, 0, 20, 0, 1}); // the start of a DataRow: mid-message
        EmbeddedFrontEnd.drain(client);
        fe.timeout("n0");
        fe.timeout("n0");
        fe.timeout("n0"); // DOWN
        fe.runAll();
        assertThat(s.state()).isEqualTo(State.DRAINING);
        assertThat(client.config().isAutoRead()).isFalse();
        // the server's writability changes (its outbound passes the high water mark, then drains)
        c.server().config().setWriteBufferWaterMark(new io.netty.channel.WriteBufferWaterMark(8, 16));
        c.server().write(Unpooled.wrappedBuffer(new byte[32]));
        c.server().flush();
        c.server().releaseOutbound();
        assertThat(client.config().isAutoRead()).as("reads of the client stay off while draining").isFalse();
        fe.inbound(client, Pg.query("INSERT INTO t VALUES (1)")); // a read already under way
        assertThat((Object) c.server().readOutbound()).as("nothing reaches the member being dropped").isNull();
        fe.inbound(c.server(), new byte[14]); // the rest of the DataRow (16 body bytes): the boundary
        assertThat(s.state()).isEqualTo(State.CLOSED);
        assertThat(s.cause()).isEqualTo(CloseCause.MEMBER_DOWN);
    }

    /** Failure 9: handshake retries are not sessions; a refused client is not accepted. */
    @Test
    void retriesAreNotCountedAsSessionsAndARefusalIsNotAnAcceptance() {
        fe.primary("n0", 1);
        EmbeddedChannel client = fe.client();
        fe.inbound(client, Pg.STARTUP);
        for (int i = 0; i < 2; i++) { // two servers die before answering
            EmbeddedFrontEnd.Connect c = fe.lastConnect();
            c.promise().setSuccess();
            c.server().releaseOutbound();
            c.server().close();
            fe.advance(Duration.ofMillis(300));
        }
        EmbeddedFrontEnd.Connect c = fe.lastConnect();
        c.promise().setSuccess();
        c.server().releaseOutbound();
        fe.inbound(c.server(), Pg.AUTH_OK_READY);
        assertThat(fe.connects).hasSize(3);
        assertThat(fe.sessions.traffic("n0").total()).isEqualTo(1);
        assertThat(fe.sessions.traffic("n0").max()).isEqualTo(1);
        assertThat(fe.sessions.acceptedSessions()).isEqualTo(1);

        EmbeddedFrontEnd refusedFe = new EmbeddedFrontEnd(Duration.ZERO);
        EmbeddedChannel refused = refusedFe.client();
        refusedFe.inbound(refused, Pg.STARTUP); // no leader, no hold: refused
        assertThat(refusedFe.sessions.refusedConnections()).isEqualTo(1);
        assertThat(refusedFe.sessions.acceptedSessions()).isZero();
        refusedFe.closeAll();
        refusedFe.assertNothingLeaked();
    }

    /** Failure 4, the session side: at the end of the grace a held client is told why, not cut off. */
    @Test
    void shutdownTellsAHeldClientWhy() {
        EmbeddedChannel client = fe.client();
        fe.inbound(client, Pg.STARTUP);
        Session s = fe.session(client);
        assertThat(s.state()).isEqualTo(State.HOLDING);
        fe.sessions.shutdownAll();
        fe.runAll();
        assertThat(s.cause()).isEqualTo(CloseCause.SHUTDOWN);
        assertThat(new String(EmbeddedFrontEnd.drain(client), java.nio.charset.StandardCharsets.ISO_8859_1))
                .contains("57P01").contains("Patroxy is shutting down");
        assertThat(fe.holds.size()).isZero();
    }

    // ---------------------------------------------------------------- a server that leaves a login without a word

    /** AuthenticationMD5Password with a salt: the server's first message of a password login. */
    private static final byte[] AUTH_MD5 = {'R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4};

    private EmbeddedFrontEnd.Connect loggingIn(EmbeddedChannel client) {
        EmbeddedFrontEnd.Connect c = fe.lastConnect();
        fe.inbound(c.server(), AUTH_MD5);
        assertThat(fe.session(client).state()).isEqualTo(State.RELAYING);
        assertThat(EmbeddedFrontEnd.drain(client)).isEqualTo(AUTH_MD5);
        return c;
    }

    private static String text(byte[] bytes) {
        return new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    /**
     * PostgreSQL shut down while a client logs in writes nothing to it and closes: the client gets
     * Patroxy's FATAL saying so, not a vanished connection — whether the FIN or the close comes first.
     */
    @Test
    void aServerThatClosesDuringTheLoginWithoutAWordLeavesTheClientAFatal() {
        for (boolean finFirst : new boolean[] {true, false}) {
            fe.primary("n0", 1);
            EmbeddedChannel client = awaitingServerOn("n0");
            EmbeddedFrontEnd.Connect c = loggingIn(client);
            if (finFirst) {
                c.server().pipeline().fireUserEventTriggered(io.netty.channel.socket.ChannelInputShutdownEvent.INSTANCE);
            } else {
                c.server().close();
            }
            // (a reset instead: aServerThatResetsDuringTheLoginLeavesTheClientAFatalToo)
            fe.runAll();
            Session s = fe.session(client);
            assertThat(s.cause()).as("fin first: " + finFirst).isEqualTo(CloseCause.SERVER_CLOSED_IN_LOGIN);
            assertThat(text(EmbeddedFrontEnd.drain(client))).contains("08006").contains("member n0")
                    .contains("closed the connection during authentication");
            assertThat(client.isActive()).isFalse();
            fe.closeAll();
            fe.assertNothingLeaked();
            fe.reset();
        }
    }

    /** After AuthenticationOk, after the server's own ErrorResponse, or after the client's Terminate, Patroxy adds nothing. */
    @Test
    void aServerCloseAfterTheLoginOrAfterItsOwnErrorOrTheClientsTerminateGetsNoWordFromPatroxy() {
        byte[] badPassword = Pg.errorResponse("28P01", "password authentication failed for user \"tester\"");
        byte[] terminate = {'X', 0, 0, 0, 4};
        for (String after : new String[] {"logged in", "its own error", "the client's Terminate"}) {
            fe.primary("n0", 1);
            EmbeddedChannel client = awaitingServerOn("n0");
            EmbeddedFrontEnd.Connect c = fe.lastConnect();
            byte[] expected;
            switch (after) {
                case "logged in" -> {
                    fe.inbound(c.server(), Pg.AUTH_OK_READY);
                    expected = Pg.AUTH_OK_READY;
                }
                case "its own error" -> {
                    loggingIn(client);
                    fe.inbound(c.server(), badPassword);
                    expected = badPassword;
                }
                default -> {
                    loggingIn(client);
                    fe.inbound(client, terminate);
                    ByteBuf passed = c.server().readOutbound();
                    passed.release();
                    expected = new byte[0];
                }
            }
            c.server().close();
            fe.runAll();
            Session s = fe.session(client);
            assertThat(s.cause()).as(after).isIn(CloseCause.SERVER_CLOSED, CloseCause.CLIENT_CLOSED);
            assertThat(EmbeddedFrontEnd.drain(client)).as(after).isEqualTo(expected);
            fe.closeAll();
            fe.assertNothingLeaked();
            fe.reset();
        }
    }

    // ---------------------------------------------------------------- a standby behind a leader port

    /** What a standby answers a login after authentication: AuthenticationOk, in_hot_standby = on, its key, ReadyForQuery. */
    private static byte[] standbyLogin(boolean authOk) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        if (authOk) {
            out.writeBytes(new byte[] {'R', 0, 0, 0, 8, 0, 0, 0, 0});
        }
        byte[] status = "in_hot_standby\0on\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.write('S');
        out.writeBytes(java.nio.ByteBuffer.allocate(4).putInt(4 + status.length).array());
        out.writeBytes(status);
        out.writeBytes(new byte[] {'K', 0, 0, 0, 12, 0, 0, 0, 9, 0, 0, 0, 9, 'Z', 0, 0, 0, 5, 'I'});
        return out.toByteArray();
    }

    /**
     * The leader demoted before the checks saw it: a login that needed no password reads
     * in_hot_standby = on with its AuthenticationOk — the client has seen nothing, so it is held and
     * tried again, and reaches the leader once there is one.
     */
    @Test
    void aStandbyBehindTheLeaderPortIsNeverRelayedAndALoginWithoutPasswordGoesOnToTheLeader() {
        fe.primary("n0", 1);
        EmbeddedChannel client = awaitingServerOn("n0");
        EmbeddedFrontEnd.Connect demoted = fe.lastConnect();
        fe.inbound(demoted.server(), standbyLogin(true));
        Session s = fe.session(client);
        assertThat(s.state()).isNotIn(State.RELAYING, State.CLOSED);
        assertThat(demoted.server().isActive()).as("the standby's connection is given up").isFalse();
        assertThat(EmbeddedFrontEnd.drain(client)).as("the client heard nothing from the standby").isEmpty();
        fe.primary("n1", 2);
        fe.primary("n1", 2);
        fe.advance(Duration.ofMillis(300));
        retriedOnAndRelayed("n1", client, s);
    }

    /** A password login on a standby: past the password exchange nothing can be retried; the client gets a FATAL, never ReadyForQuery. */
    @Test
    void aPasswordLoginOnAStandbyBehindTheLeaderPortEndsWithAFatalBeforeReadyForQuery() {
        fe.primary("n0", 1);
        EmbeddedChannel client = awaitingServerOn("n0");
        EmbeddedFrontEnd.Connect c = loggingIn(client);
        fe.inbound(client, new byte[] {'p', 0, 0, 0, 8, 'p', 'w', 0, 0});
        ByteBuf password = c.server().readOutbound();
        password.release();
        fe.inbound(c.server(), standbyLogin(true));
        Session s = fe.session(client);
        assertThat(s.cause()).isEqualTo(CloseCause.MEMBER_IN_RECOVERY);
        String told = text(EmbeddedFrontEnd.drain(client));
        assertThat(told).startsWith("E").contains("57P01").contains("member n0 is in recovery (it reported in_hot_standby = on)");
        assertThat(told).as("no ReadyForQuery reached the client").doesNotContain("Z\0\0\0\5I");
        assertThat(c.server().isActive()).isFalse();
    }

    /** On a replicas listener a standby is what is wanted: relayed as it is. */
    @Test
    void aStandbyOnAReplicasListenerIsRelayedAsItIs() {
        EmbeddedFrontEnd replicas = new EmbeddedFrontEnd(Duration.ofMinutes(1), true);
        try {
            replicas.primary("n0", 1); // here: its check (/replica) passes
            EmbeddedChannel client = replicas.client();
            replicas.inbound(client, Pg.STARTUP);
            EmbeddedFrontEnd.Connect c = replicas.lastConnect();
            c.promise().setSuccess();
            ByteBuf startup = c.server().readOutbound();
            startup.release();
            replicas.inbound(c.server(), standbyLogin(true));
            assertThat(replicas.session(client).state()).isEqualTo(State.RELAYING);
            assertThat(EmbeddedFrontEnd.drain(client)).isEqualTo(standbyLogin(true));
        } finally {
            replicas.closeAll();
            replicas.assertNothingLeaked();
        }
    }

    /** A backend that exits mid-login with the client's response unread resets the connection: the client is told the same. */
    @Test
    void aServerThatResetsDuringTheLoginLeavesTheClientAFatalToo() {
        fe.primary("n0", 1);
        EmbeddedChannel client = awaitingServerOn("n0");
        EmbeddedFrontEnd.Connect c = loggingIn(client);
        c.server().pipeline().fireExceptionCaught(new java.io.IOException("Connection reset by peer"));
        fe.runAll();
        Session s = fe.session(client);
        assertThat(s.cause()).isEqualTo(CloseCause.SERVER_CLOSED_IN_LOGIN);
        assertThat(text(EmbeddedFrontEnd.drain(client))).contains("08006").contains("closed the connection during authentication");
    }
}
