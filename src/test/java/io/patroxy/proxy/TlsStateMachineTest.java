package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.netty.channel.embedded.EmbeddedChannel;
import io.patroxy.config.TlsSettings;
import io.patroxy.proxy.Session.State;

/**
 * Issue 13's transitions on EmbeddedChannels, one event-loop turn at a time: an SSLRequest held
 * like a StartupMessage (passthrough), the hold ending against a leader arriving in the same or
 * the next turn, GSSENCRequest then SSLRequest, and terminate's 'S'. Never an 'N' for a server.
 */
class TlsStateMachineTest {

    private static final byte[] GSSENC = java.nio.ByteBuffer.allocate(8).putInt(8).putInt(80877104).array();
    private EmbeddedFrontEnd fe = new EmbeddedFrontEnd(Duration.ofSeconds(2));

    @AfterEach
    void nothingLeaks() {
        fe.closeAll();
        fe.assertNothingLeaked();
    }

    @Test
    void anSslRequestWithoutALeaderIsHeldThenPassedOnToTheLeader() {
        EmbeddedChannel client = fe.client();
        fe.inbound(client, Pg.sslRequest());
        Session s = fe.session(client);
        assertThat(s.state()).isEqualTo(State.HOLDING);
        assertThat(EmbeddedFrontEnd.drain(client)).as("no answer while held: never 'N'").isEmpty();
        assertThat(fe.connects).isEmpty();
        fe.primary("n1", 1);
        fe.primary("n1", 1);
        fe.runAll();
        assertThat(s.state()).isEqualTo(State.CONNECTING);
        EmbeddedFrontEnd.Connect c = fe.lastConnect();
        assertThat(c.member().name()).isEqualTo("n1");
        c.promise().setSuccess();
        assertThat(s.state()).isEqualTo(State.NEGOTIATING);
        assertThat(EmbeddedFrontEnd.drain(c.server())).as("the client's SSLRequest, passed on").isEqualTo(Pg.sslRequest());
        fe.inbound(c.server(), new byte[] {'S'});
        assertThat(s.state()).isEqualTo(State.RELAYING);
        assertThat(EmbeddedFrontEnd.drain(client)).as("the server's own 'S'").containsExactly('S');
        assertThat(s.clientTlsTerminated()).isFalse();
    }

    @Test
    void theHoldEndingFirstAnswersSAndALeaderInTheNextTurnChangesNothing() {
        EmbeddedChannel client = fe.client();
        fe.inbound(client, Pg.sslRequest());
        Session s = fe.session(client);
        fe.advance(Duration.ofMillis(2100)); // the hold is over
        assertThat(s.state()).isEqualTo(State.CLIENT_TLS);
        assertThat(EmbeddedFrontEnd.drain(client)).as("Patroxy's own 'S', then TLS with its certificate").containsExactly('S');
        assertThat(client.pipeline().get("tls")).isNotNull();
        fe.primary("n0", 1);
        fe.primary("n0", 1);
        fe.runAll(); // the leader's notice, one turn later
        assertThat(fe.connects).as("a refused client is not routed").isEmpty();
        assertThat(s.state()).isEqualTo(State.CLIENT_TLS);
        assertThat(fe.holds.size()).isZero();
    }

    /** Found by RoutingInvariantTest: shutdown while an SSLRequest is held, then plaintext bytes where TLS is expected. */
    @Test
    void shutdownOfAHeldSslRequestIsToldInsideTlsAndGarbageThenClosesIt() {
        EmbeddedChannel client = fe.client();
        fe.inbound(client, Pg.sslRequest());
        Session s = fe.session(client);
        fe.sessions.shutdownAll();
        fe.runAll();
        assertThat(s.state()).isEqualTo(State.CLIENT_TLS);
        assertThat(EmbeddedFrontEnd.drain(client)).containsExactly('S');
        fe.inbound(client, Pg.query("SELECT 1"));
        fe.runAll();
        assertThat(s.state()).isEqualTo(State.CLOSED);
        assertThat(s.cause()).isEqualTo(CloseCause.CLIENT_ERROR);
    }

    @Test
    void aLeaderArrivingInTheSameTurnAsTheHoldsEndWinsWhenItsNoticeRunsFirst() {
        EmbeddedChannel client = fe.client();
        fe.inbound(client, Pg.sslRequest());
        Session s = fe.session(client);
        fe.primary("n0", 1);
        fe.primary("n0", 1); // the notice is queued on the session's loop, the hold's timer is due in the same turn
        fe.advance(Duration.ofMillis(2100));
        assertThat(fe.connects).hasSize(1);
        assertThat(s.state()).isEqualTo(State.CONNECTING);
        assertThat(EmbeddedFrontEnd.drain(client)).as("no 'S' of Patroxy's: the server will answer").isEmpty();
        assertThat(client.pipeline().get("tls")).isNull();
    }

    @Test
    void aFailedConnectHoldsTheSslRequestAgainInsteadOfDecliningIt() {
        fe.primary("n0", 1);
        fe.primary("n0", 1);
        EmbeddedChannel client = fe.client();
        fe.inbound(client, Pg.sslRequest());
        Session s = fe.session(client);
        fe.lastConnect().promise().setFailure(new java.net.ConnectException("refused"));
        assertThat(s.state()).isEqualTo(State.HOLDING);
        assertThat(EmbeddedFrontEnd.drain(client)).isEmpty();
        fe.advance(Duration.ofMillis(300)); // the retry
        assertThat(fe.connects).hasSize(2);
    }

    @Test
    void aGssencRequestGetsNAndTheSslRequestAfterItIsHeldAsAFirstOne() {
        EmbeddedChannel client = fe.client();
        fe.inbound(client, GSSENC);
        Session s = fe.session(client);
        assertThat(EmbeddedFrontEnd.drain(client)).containsExactly('N');
        assertThat(s.state()).isEqualTo(State.AWAITING_STARTUP);
        fe.inbound(client, Pg.sslRequest());
        assertThat(s.state()).isEqualTo(State.HOLDING);
        assertThat(EmbeddedFrontEnd.drain(client)).isEmpty();
    }

    @Test
    void anSslRequestAfterTheServersNToGssencGoesToTheSameServer() {
        fe.primary("n0", 1);
        fe.primary("n0", 1);
        EmbeddedChannel client = fe.client();
        fe.inbound(client, GSSENC);
        Session s = fe.session(client);
        EmbeddedFrontEnd.Connect c = fe.lastConnect();
        c.promise().setSuccess();
        assertThat(EmbeddedFrontEnd.drain(c.server())).isEqualTo(GSSENC);
        fe.inbound(c.server(), new byte[] {'N'});
        assertThat(EmbeddedFrontEnd.drain(client)).as("the server's 'N' to GSSENC").containsExactly('N');
        fe.inbound(client, Pg.sslRequest());
        assertThat(fe.connects).as("the kept server, no new connection").hasSize(1);
        assertThat(s.state()).isEqualTo(State.NEGOTIATING);
        assertThat(EmbeddedFrontEnd.drain(c.server())).isEqualTo(Pg.sslRequest());
        fe.inbound(c.server(), new byte[] {'S'});
        assertThat(s.state()).isEqualTo(State.RELAYING);
    }

    @Test
    void terminateAnswersSAtOnceEvenWithoutALeader() {
        fe.closeAll();
        fe = new EmbeddedFrontEnd(Duration.ofSeconds(2), TlsContexts.start(new TlsSettings(TlsSettings.ClientMode.TERMINATE,
                Optional.empty(), Optional.empty(), Optional.empty(), List.of("TLSv1.2", "TLSv1.3"), List.of(),
                TlsSettings.ServerMode.PREFER, Optional.empty())).ready());
        EmbeddedChannel client = fe.client();
        fe.inbound(client, Pg.sslRequest());
        Session s = fe.session(client);
        assertThat(EmbeddedFrontEnd.drain(client)).containsExactly('S');
        assertThat(s.state()).isEqualTo(State.CLIENT_TLS);
        assertThat(client.pipeline().first()).isSameAs(client.pipeline().get("tls"));
        assertThat(fe.connects).isEmpty();
        fe.inbound(client, Pg.STARTUP); // not a TLS record: the handshake fails, the client is closed
        fe.runAll();
        assertThat(s.state()).isEqualTo(State.CLOSED);
        assertThat(s.cause()).isEqualTo(CloseCause.CLIENT_ERROR);
    }
}
