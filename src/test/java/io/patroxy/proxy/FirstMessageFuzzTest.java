package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Set;

import com.code_intelligence.jazzer.junit.FuzzTest;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.patroxy.pgwire.FirstMessage;
import io.patroxy.proxy.Session.State;

/**
 * Coverage-guided fuzzing (Jazzer) of everything a client may send first — StartupMessage,
 * SSLRequest, GSSENCRequest, CancelRequest, garbage — through the real {@link FrontendHandler} and
 * {@link Handshake} on EmbeddedChannels, in chunks of any size, with a leader known (its server
 * answering anything), with none, and with maxconn reached. For every input: no exception escapes
 * (nor reaches the handler as a client error: there is no I/O here), Patroxy writes the client
 * nothing but encryption answers and at most one FATAL ErrorResponse (or relays a server), a closed
 * client has a named cause, every buffer is released and the registries end empty.
 *
 * <p>Without {@code -Djazzer.fuzz} (every build) this replays the inputs saved under
 * {@code src/test/resources/io/patroxy/proxy/FirstMessageFuzzTestInputs}; {@code scripts/fuzz.sh} fuzzes.
 */
class FirstMessageFuzzTest {

    static {
        java.util.logging.Logger.getLogger("io.patroxy").setLevel(java.util.logging.Level.WARNING); // a line per refusal: slower than the input
    }

    private static final CountingAllocator ALLOC = new CountingAllocator();
    private static final EmbeddedFrontEnd WITH_LEADER = frontEnd(1000, true);
    private static final EmbeddedFrontEnd NO_LEADER = frontEnd(1000, false);
    private static final EmbeddedFrontEnd FULL = frontEnd(0, true);
    /** Causes that must have told the client why in a FATAL ErrorResponse. */
    private static final Set<CloseCause> TOLD = Set.of(CloseCause.PROTOCOL_ERROR, CloseCause.NO_LEADER,
            CloseCause.CONNECT_FAILED, CloseCause.MAXCONN);

    private static EmbeddedFrontEnd frontEnd(int maxconn, boolean leader) {
        EmbeddedFrontEnd fe = new EmbeddedFrontEnd(Duration.ofMinutes(1), false, maxconn);
        fe.alloc = ALLOC;
        if (leader) {
            fe.primary("n0", 1);
            fe.primary("n0", 1);
        }
        return fe;
    }

    /**
     * The input: a header of 5 bytes — the situation (0, 3: a leader; 1: none; 2: maxconn reached),
     * the chunk size (2 bytes, 1 + n % 16384), whether connects succeed (bit 0), the length of the
     * server's answer — then the server's answer, then what the client sends.
     */
    @FuzzTest(maxDuration = "15s")
    void clientFirstBytes(byte[] input) {
        ByteBuf in = Unpooled.wrappedBuffer(input);
        int situation = in.isReadable() ? in.readUnsignedByte() & 3 : 0;
        EmbeddedFrontEnd fe = situation == 1 ? NO_LEADER : situation == 2 ? FULL : WITH_LEADER;
        int chunk = 1 + (in.readableBytes() >= 2 ? in.readUnsignedShort() % (1 << 14) : 1 << 14);
        boolean connects = !in.isReadable() || (in.readByte() & 1) == 0;
        byte[] serverSays = new byte[in.isReadable() ? Math.min(in.readUnsignedByte(), in.readableBytes()) : 0];
        in.readBytes(serverSays);
        byte[] clientSends = new byte[in.readableBytes()];
        in.readBytes(clientSends);
        try {
            play(fe, chunk, connects, serverSays, clientSends);
        } finally {
            fe.closeAll();
            fe.assertNothingLeaked();
            ALLOC.assertAllReleased("after the input");
            assertThat(fe.sessions.open()).as("sessions left in the registry").isEmpty();
            assertThat(fe.sessions.activeSessions()).isZero();
            assertThat(fe.sessions.cancelKeys().size()).isZero();
            fe.reset();
        }
    }

    private static void play(EmbeddedFrontEnd fe, int chunk, boolean connects, byte[] serverSays, byte[] clientSends) {
        EmbeddedChannel client = fe.client();
        int served = 0;
        for (int at = 0; at < clientSends.length && client.isActive(); at += chunk) {
            byte[] part = java.util.Arrays.copyOfRange(clientSends, at, Math.min(clientSends.length, at + chunk));
            fe.inbound(client, part);
            fe.runAll();
            while (served < fe.connects.size()) { // a server to talk to: connect it, take what it was sent, let it answer
                EmbeddedFrontEnd.Connect c = fe.connects.get(served++);
                if (!connects) {
                    c.promise().setFailure(new java.net.ConnectException("refused (fuzz)"));
                    continue;
                }
                c.promise().setSuccess();
                for (ByteBuf b; (b = c.server().readOutbound()) != null; ) {
                    b.release();
                }
                if (serverSays.length > 0 && c.server().isActive()) {
                    fe.inbound(c.server(), serverSays);
                }
                fe.runAll();
            }
        }
        fe.runAll();
        client.checkException();
        Session s = fe.session(client);
        boolean relayed = s != null && s.relayed();
        ByteBuf out = Unpooled.buffer();
        for (ByteBuf b; (b = client.readOutbound()) != null; ) {
            out.writeBytes(b);
            b.release();
        }
        try {
            if (relayed) {
                return; // the server's bytes, passed on
            }
            if (answeredTls(out)) {
                // Patroxy answered an SSLRequest 'S' itself (never 'N' for a server): what follows is TLS, which these
                // bytes cannot speak; a refusal is told inside TLS, a failed handshake ends as client_error
                if (!client.isActive()) {
                    assertThat(s != null ? s.cause() : CloseCause.MAXCONN).as("a closed client has a named cause").isNotNull();
                }
                return;
            }
            if (s != null) {
                assertThat(s.cause()).as("no exception reached the client's handler").isNotEqualTo(CloseCause.CLIENT_ERROR);
            }
            Pg.Message error = clientHeard(out);
            if (!client.isActive()) {
                CloseCause cause = s != null ? s.cause() : sentCancel(clientSends) ? CloseCause.CANCEL_REQUEST : CloseCause.MAXCONN;
                assertThat(cause).as("a closed client has a named cause").isNotNull();
                if (TOLD.contains(cause)) {
                    assertThat(error).as("a client closed for " + cause.label() + " is told why").isNotNull();
                    assertThat(error.field('S')).isEqualTo("FATAL");
                    assertThat(error.field('C')).matches("[0-9A-Z]{5}");
                    assertThat(error.field('M')).isNotBlank();
                }
            } else {
                assertThat(error).as("an ErrorResponse is followed by the close").isNull();
                if (s != null) {
                    assertThat(s.state()).isNotEqualTo(State.CLOSED);
                }
            }
        } finally {
            out.release();
        }
    }

    /** Whether Patroxy's answers are at most one 'N' (to a GSSENCRequest) and then its own 'S': TLS from there on. */
    private static boolean answeredTls(ByteBuf out) {
        int i = out.readerIndex();
        if (out.isReadable() && out.getByte(i) == 'N') {
            i++;
        }
        return i < out.writerIndex() && out.getByte(i) == 'S';
    }

    /** Whether the client's first message past its encryption requests is a CancelRequest (never answered). */
    private static boolean sentCancel(byte[] clientSends) {
        ByteBuf in = Unpooled.wrappedBuffer(clientSends);
        for (int i = 0; i < 3; i++) {
            FirstMessage m = FirstMessage.read(in);
            if (!(m instanceof FirstMessage.EncryptionRequest)) {
                return m instanceof FirstMessage.CancelRequest;
            }
        }
        return false;
    }

    /**
     * What Patroxy said to a client it does not relay: encryption answers ('N', at most one per
     * kind of request), then at most one ErrorResponse, whole; returns that ErrorResponse or null.
     */
    private static Pg.Message clientHeard(ByteBuf out) {
        int declines = 0;
        while (out.isReadable()) {
            byte type = out.readByte();
            if (type == 'N') {
                declines++;
                assertThat(declines).as("encryption answers (one SSLRequest and one GSSENCRequest at most)").isLessThanOrEqualTo(2);
                continue;
            }
            assertThat((char) type).as("Patroxy writes a client only 'N' or an ErrorResponse").isEqualTo('E');
            assertThat(out.readableBytes()).isGreaterThanOrEqualTo(4);
            int length = out.readInt();
            assertThat(length - 4).as("the ErrorResponse is whole and the last thing written").isEqualTo(out.readableBytes());
            byte[] body = new byte[length - 4];
            out.readBytes(body);
            assertThat(body[body.length - 1]).isZero();
            return new Pg.Message('E', body);
        }
        return null;
    }

    /** The pure parser alone: never reads out of bounds, consumes whole messages or nothing, bounded. */
    @FuzzTest(maxDuration = "15s")
    void firstMessageParser(byte[] input) {
        ByteBuf in = Unpooled.wrappedBuffer(input);
        FirstMessage m = FirstMessage.read(in);
        if (m == null) {
            assertThat(in.readerIndex()).as("an incomplete message consumes nothing").isZero();
            assertThat(input.length).isLessThan(FirstMessage.MAX_LENGTH);
        } else if (m instanceof FirstMessage.Startup st) {
            assertThat(st.packet().length).isEqualTo(in.readerIndex()).isLessThanOrEqualTo(FirstMessage.MAX_LENGTH);
        }
        in.release();
    }
}
