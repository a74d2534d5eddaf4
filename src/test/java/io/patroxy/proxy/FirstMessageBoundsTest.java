package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.patroxy.config.ProxySettings;
import io.patroxy.proxy.Session.State;

/**
 * What bounds a client before its StartupMessage, on EmbeddedChannels with a virtual clock: the
 * startup timeout (a client that sends nothing, or drips its packet a byte a second), and one answer
 * per kind of encryption request (PostgreSQL's rule; repeats would otherwise be answered without end).
 */
class FirstMessageBoundsTest {

    private final EmbeddedFrontEnd fe = new EmbeddedFrontEnd(Duration.ofMinutes(5));

    @AfterEach
    void nothingLeaks() {
        fe.closeAll();
        fe.assertNothingLeaked();
        assertThat(fe.sessions.open()).isEmpty();
    }

    private static Pg.Message error(byte[] out, int at) {
        assertThat(out[at]).as("an ErrorResponse").isEqualTo((byte) 'E');
        int length = Unpooled.wrappedBuffer(out, at + 1, 4).readInt();
        byte[] body = java.util.Arrays.copyOfRange(out, at + 5, at + 1 + length);
        assertThat(out.length).as("nothing after it").isEqualTo(at + 1 + length);
        return new Pg.Message('E', body);
    }

    @Test
    void aClientThatNeverSendsItsStartupPacketIsToldAndClosedAtTheStartupTimeout() {
        EmbeddedChannel client = fe.client();
        fe.advance(ProxySettings.DEFAULT_STARTUP_TIMEOUT.minusSeconds(1));
        assertThat(client.isActive()).as("still within the startup timeout").isTrue();
        fe.advance(Duration.ofSeconds(2));
        assertThat(client.isActive()).isFalse();
        assertThat(fe.session(client).cause()).isEqualTo(CloseCause.STARTUP_TIMEOUT);
        Pg.Message e = error(EmbeddedFrontEnd.drain(client), 0);
        assertThat(e.field('S')).isEqualTo("FATAL");
        assertThat(e.field('C')).isEqualTo("08P01");
        assertThat(e.field('M')).contains("no startup packet received within 60.0 s (patroxy.timeout.startup)");
    }

    @Test
    void aClientDrippingItsStartupPacketAByteASecondIsClosedAtTheStartupTimeout() {
        fe.primary("n0", 1);
        fe.primary("n0", 1);
        EmbeddedChannel client = fe.client();
        byte[] startup = Pg.startup("x".repeat(100)); // longer than the timeout in seconds
        int sent = 0;
        while (client.isActive() && sent < startup.length) {
            fe.inbound(client, new byte[] {startup[sent++]});
            fe.advance(Duration.ofSeconds(1));
        }
        assertThat(client.isActive()).isFalse();
        assertThat(sent).as("bytes dripped before the close").isBetween(59, 61);
        assertThat(fe.connects).as("never routed").isEmpty();
        assertThat(fe.session(client).cause()).isEqualTo(CloseCause.STARTUP_TIMEOUT);
        assertThat(error(EmbeddedFrontEnd.drain(client), 0).field('C')).isEqualTo("08P01");
    }

    @Test
    void theStartupTimeoutLeavesAClientThatSentItsStartupAlone() {
        fe.primary("n0", 1);
        fe.primary("n0", 1);
        EmbeddedChannel client = fe.client();
        fe.inbound(client, Pg.STARTUP);
        EmbeddedFrontEnd.Connect c = fe.lastConnect();
        c.promise().setSuccess();
        c.server().<ByteBuf>readOutbound().release();
        fe.inbound(c.server(), Pg.AUTH_OK_READY);
        fe.advance(Duration.ofMinutes(2));
        assertThat(fe.session(client).state()).isEqualTo(State.RELAYING);
        assertThat(EmbeddedFrontEnd.drain(client)).isEqualTo(Pg.AUTH_OK_READY);
    }

    @Test
    void aHeldClientIsBoundByTheHoldNotTheStartupTimeout() {
        EmbeddedChannel client = fe.client(); // no leader: held up to 5 minutes
        fe.inbound(client, Pg.STARTUP);
        fe.advance(Duration.ofSeconds(90));
        assertThat(fe.session(client).state()).isEqualTo(State.HOLDING);
        EmbeddedFrontEnd.drain(client);
    }

    @Test
    void aSecondGssencRequestIsAProtocolErrorNotAnotherAnswer() {
        // no leader: Patroxy answers a GSSENCRequest 'N' itself (an SSLRequest would be held: TlsStateMachineTest)
        EmbeddedChannel client = fe.client();
        byte[] gssenc = {0, 0, 0, 8, 0x04, (byte) 0xd2, 0x16, 0x30}; // 80877104
        byte[] twice = new byte[16];
        System.arraycopy(gssenc, 0, twice, 0, 8);
        System.arraycopy(gssenc, 0, twice, 8, 8);
        fe.inbound(client, twice);
        fe.runAll();
        byte[] out = EmbeddedFrontEnd.drain(client);
        assertThat(out[0]).isEqualTo((byte) 'N');
        Pg.Message e = error(out, 1);
        assertThat(e.field('C')).isEqualTo("08P01");
        assertThat(e.field('M')).isEqualTo("unsupported frontend protocol 1234.5680: server supports 3.0 to 3.0");
        assertThat(client.isActive()).isFalse();
        assertThat(fe.session(client).cause()).isEqualTo(CloseCause.PROTOCOL_ERROR);
    }

    @Test
    void aFloodOfSslRequestsGetsOneErrorAndNoAnswers() {
        EmbeddedChannel client = fe.client();
        byte[] flood = new byte[8 * 5000];
        for (int i = 0; i < 5000; i++) {
            System.arraycopy(Pg.sslRequest(), 0, flood, 8 * i, 8);
        }
        fe.inbound(client, flood);
        fe.runAll();
        byte[] out = EmbeddedFrontEnd.drain(client);
        // the rest is unencrypted data after the first SSLRequest: refused at once with one FATAL, as
        // PostgreSQL refuses it, and no answer per request (nor a hold: never 'N' for a server)
        Pg.Message e = error(out, 0);
        assertThat(e.field('C')).isEqualTo("08P01");
        assertThat(e.field('M')).isEqualTo("received unencrypted data after SSL request");
        assertThat(client.isActive()).isFalse();
    }

    @Test
    void gssencThenSslIsAnsweredOnceEachAsPostgresDoes() {
        EmbeddedChannel client = fe.client();
        byte[] gss = java.nio.ByteBuffer.allocate(8).putInt(8).putInt(80877104).array();
        fe.inbound(client, gss);
        fe.inbound(client, Pg.sslRequest());
        fe.inbound(client, Pg.STARTUP);
        fe.runAll();
        // Patroxy's 'N' to the GSSENCRequest; the SSLRequest is then a first one: held while no leader is known
        assertThat(EmbeddedFrontEnd.drain(client)).containsExactly('N');
        assertThat(fe.session(client).state()).isEqualTo(State.HOLDING);
    }
}
