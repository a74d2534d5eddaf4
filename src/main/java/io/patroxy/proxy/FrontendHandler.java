package io.patroxy.proxy;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.patroxy.cluster.MemberView;
import io.patroxy.cluster.Routing;
import io.patroxy.config.MemberAddress;
import io.patroxy.config.TlsSettings;
import io.patroxy.pgwire.ErrorResponse;
import io.patroxy.pgwire.FirstMessage;
import io.patroxy.proxy.Session.State;

/**
 * The client channel's handler until relaying, a short coordinator: it admits the client (or
 * refuses it for maxconn), reads its first messages within PostgreSQL's bounds (GREETING,
 * AWAITING_STARTUP: SSLRequest, GSSENCRequest, CancelRequest, StartupMessage), hands the way to a
 * server to the session's {@link Handshake}, and ends a client that has no server yet — with a
 * FATAL ErrorResponse when it is refused, silently when it left.
 *
 * <p><b>TLS.</b> Patroxy never answers 'N' to an SSLRequest on a server's behalf. In
 * {@code passthrough} the SSLRequest goes to the server (held like a StartupMessage while no
 * leader is known); only when Patroxy itself must refuse the client does it answer 'S', complete
 * TLS with its own certificate (CLIENT_TLS), read the StartupMessage and send the FATAL inside
 * TLS. In {@code terminate}/{@code require} it answers 'S' at once and reads the StartupMessage
 * inside TLS; the session then goes the plaintext way (hold, route, retry). A GSSENCRequest gets
 * 'N' unless it can be passed on to the leader; either request is accepted once, as PostgreSQL does.
 *
 * <p>Nothing is read from the client while a server is being found (AUTO_READ is off; reads are
 * asked for one at a time), so at most one bounded first message is ever buffered.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = Logger.getLogger(FrontendHandler.class);
    /** How long a client refused for maxconn may take to send its startup packet and read why. */
    static final long REFUSED_CLIENT_GRACE_SECONDS = 5;
    private static final byte[] DECLINE = {'N'};
    private static final byte[] ACCEPT_TLS = {'S'};

    private final ProxyContext px;
    private ChannelHandlerContext ctx;
    private Session session; // null: over maxconn, answered after the startup packet
    /** The state of a client over maxconn, which has no Session: GREETING, CLIENT_TLS, AWAITING_STARTUP (inside TLS), CLOSED. */
    private State outsider = State.GREETING;
    private ByteBuf clientIn;
    private Handshake handshake;
    private boolean clientInputClosed;
    private ScheduledFuture<?> firstMessageTimer; // the startup timeout (the refused client's grace over maxconn)
    private boolean sslAsked; // each encryption request once, as PostgreSQL accepts them
    private boolean gssAsked;
    private boolean clientTls; // Patroxy terminates this client's TLS
    private Refusal afterTls; // a refusal waiting for the TLS handshake and the StartupMessage

    /** A FATAL to send once the client is inside TLS. */
    private record Refusal(CloseCause cause, String sqlState, String message) {
    }

    FrontendHandler(ProxyContext px) {
        this.px = px;
    }

    private State state() {
        return session == null ? outsider : session.state();
    }

    // ---------------------------------------------------------------- the client's first messages

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        clientIn = ctx.alloc().buffer(256);
        session = px.sessions().admit(ctx.channel());
        if (session == null) {
            // not a session: it may not linger past maxconn waiting to be told so
            firstMessageTimer = ctx.executor().schedule(() -> quit(CloseCause.MAXCONN), REFUSED_CLIENT_GRACE_SECONDS, TimeUnit.SECONDS);
        } else {
            handshake = new Handshake(px, ctx, session, this);
            session.handshake(handshake);
            // a client that never sends its startup packet, or drips it, may not hold a maxconn slot for long
            firstMessageTimer = ctx.executor().schedule(this::startupTimedOut,
                    px.settings().startupTimeout().toNanos(), TimeUnit.NANOSECONDS);
        }
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf) || state() == State.CLOSED) {
            ReferenceCountUtil.release(msg);
            return;
        }
        clientIn.writeBytes(buf);
        buf.release();
        if (readsClient()) {
            onClientBytes();
        } else if (clientIn.readableBytes() > FirstMessage.MAX_LENGTH) {
            refuse(CloseCause.PROTOCOL_ERROR, ErrorResponse.PROTOCOL_VIOLATION, "client sent data before the server answered");
        }
    }

    private boolean readsClient() {
        State s = state();
        return s == State.GREETING || s == State.AWAITING_STARTUP;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (readsClient()) {
            ctx.read(); // still waiting for the rest of the first message
        }
    }

    private void onClientBytes() {
        FirstMessage m = FirstMessage.read(clientIn);
        if (m == null) {
            return;
        }
        clientIn.discardReadBytes();
        if (m instanceof FirstMessage.Malformed bad) {
            refuse(CloseCause.PROTOCOL_ERROR, ErrorResponse.PROTOCOL_VIOLATION, bad.reason());
        } else if (m instanceof FirstMessage.CancelRequest cancel) {
            forwardCancel(cancel);
        } else if (m instanceof FirstMessage.EncryptionRequest enc) {
            encryptionRequest(enc.gss());
        } else if (session == null) {
            outsider = State.CLOSED;
            refuse(CloseCause.MAXCONN, ErrorResponse.TOO_MANY_CONNECTIONS,
                    "sorry, too many clients already: Patroxy's maxconn of " + px.settings().maxconn() + " is reached");
        } else if (afterTls != null) {
            Refusal r = afterTls;
            afterTls = null;
            refuse(r.cause(), r.sqlState(), r.message());
        } else if (px.tls().settings().mode() == TlsSettings.ClientMode.REQUIRE && !clientTls) {
            refuse(CloseCause.TLS_REQUIRED, ErrorResponse.INVALID_AUTHORIZATION, "Patroxy accepts only TLS connections"
                    + " (patroxy.tls.mode=require): connect with sslmode=require, verify-ca or verify-full (pgjdbc: ssl=true)");
        } else {
            cancelTimer(); // the hold, the connect timeout and the server's own authentication_timeout bound what follows
            handshake.startup((FirstMessage.Startup) m);
        }
    }

    /** Runs unless the StartupMessage came, or the client left, or relaying began (encrypted) first. */
    private void startupTimedOut() {
        if (state() != State.CLOSED) {
            refuse(CloseCause.STARTUP_TIMEOUT, ErrorResponse.PROTOCOL_VIOLATION, "no startup packet received within "
                    + px.settings().startupTimeout().toMillis() / 1000.0 + " s (patroxy.timeout.startup)");
        }
    }

    /**
     * An SSLRequest or GSSENCRequest. Never 'N' to an SSLRequest on a server's behalf: it is passed
     * on (passthrough: to the leader, to the server kept after its 'N' to a GSSENCRequest, or held
     * until a leader comes), or answered 'S' by Patroxy itself (terminating, or a client over maxconn
     * that is to be told so inside TLS).
     */
    private void encryptionRequest(boolean gss) {
        if (gss ? gssAsked : sslAsked || clientTls) {
            // PostgreSQL answers one SSLRequest and one GSSENCRequest per connection and takes a repeat for an
            // unknown protocol (a client repeating it without reading the answers would queue them without end)
            int code = gss ? FirstMessage.GSSENC_REQUEST : FirstMessage.SSL_REQUEST;
            refuse(CloseCause.PROTOCOL_ERROR, ErrorResponse.PROTOCOL_VIOLATION, "unsupported frontend protocol "
                    + (code >>> 16) + "." + (code & 0xffff) + ": server supports 3.0 to 3.0");
            return;
        }
        if (gss) {
            gssAsked = true;
        } else {
            sslAsked = true;
            if (clientIn.isReadable()) { // a client waits for the answer; what it sent before it would be taken as TLS (CVE-2021-23214)
                refuse(CloseCause.PROTOCOL_ERROR, ErrorResponse.PROTOCOL_VIOLATION, "received unencrypted data after SSL request");
                return;
            }
        }
        boolean passthrough = !px.tls().settings().mode().terminates();
        MemberView leader = session == null || !passthrough || state() != State.GREETING ? null
                : Routing.pick(px.view(), px.sessions()::sessionsOn, px.turns().getAndIncrement()).orElse(null);
        if (gss) {
            if (leader != null) {
                handshake.relayEncryption(FirstMessage.GSSENC_REQUEST, leader.address());
            } else {
                decline(); // Patroxy has no GSSAPI encryption of its own: 'N', as PostgreSQL without it
                onClientBytes(); // the next message may be here already
            }
        } else if (session == null || !passthrough) {
            startClientTls();
        } else if (handshake.keptServer()) {
            handshake.relayEncryption(FirstMessage.SSL_REQUEST, null); // to the server that answered the GSSENCRequest
        } else if (leader != null) {
            handshake.relayEncryption(FirstMessage.SSL_REQUEST, leader.address());
        } else {
            handshake.holdEncryption(FirstMessage.SSL_REQUEST);
        }
    }

    /** Answers 'S' and begins TLS with Patroxy's certificate (CLIENT_TLS); the StartupMessage comes inside it. */
    private void startClientTls() {
        if (!px.tls().clientReady()) { // passthrough makes its certificate on first need, off the event loop
            px.tls().whenClientReady(ctx.executor(), () -> {
                if (ctx.channel().isActive() && state() != State.CLOSED && state() != State.CLIENT_TLS) {
                    startClientTls();
                }
            }, failed -> {
                LOG.errorf("TLS: %s", failed.getMessage());
                quit(CloseCause.CLIENT_ERROR);
            });
            return;
        }
        if (clientIn.isReadable()) { // what a client sends before the answer would be taken as encrypted: refuse it (CVE-2021-23214)
            refuse(CloseCause.PROTOCOL_ERROR, ErrorResponse.PROTOCOL_VIOLATION, "received unencrypted data after SSL request");
            return;
        }
        if (session != null) {
            session.to(State.CLIENT_TLS);
        } else {
            outsider = State.CLIENT_TLS;
        }
        ctx.writeAndFlush(Unpooled.wrappedBuffer(ACCEPT_TLS));
        ctx.pipeline().addFirst("tls", px.tls().clientHandler(ctx.alloc()));
        ctx.read(); // the handler reads on by itself until the handshake is done
    }

    private void tlsHandshakeDone(SslHandshakeCompletionEvent done) {
        if (state() != State.CLIENT_TLS) {
            return;
        }
        if (!done.isSuccess()) {
            LOG.debugf("TLS handshake with %s failed: %s", ctx.channel().remoteAddress(), done.cause().toString());
            quit(CloseCause.CLIENT_ERROR);
            return;
        }
        clientTls = true;
        if (session != null) {
            session.clientTls();
            session.to(State.AWAITING_STARTUP);
        } else {
            outsider = State.AWAITING_STARTUP;
        }
        if (clientIn.isReadable()) {
            onClientBytes();
        }
        if (readsClient()) {
            ctx.read();
        }
    }

    /** Answers an encryption request with Patroxy's own 'N'; the StartupMessage comes next, in the clear. */
    void decline() {
        if (session != null) {
            session.to(State.AWAITING_STARTUP);
        }
        ctx.writeAndFlush(Unpooled.wrappedBuffer(DECLINE));
        ctx.read();
    }

    // ---------------------------------------------------------------- endings

    /**
     * Answers the client with a FATAL ErrorResponse and closes. A client whose SSLRequest still
     * waits for its answer (passthrough, held) is answered 'S' first and told inside TLS, once it
     * sent its StartupMessage (psql and pgjdbc show the message then; a plaintext error would not be read).
     */
    void refuse(CloseCause cause, String sqlState, String message) {
        if (state() == State.CLOSED && session != null) {
            return;
        }
        if (session != null && afterTls == null && handshake.awaitsSslAnswer()) {
            handshake.end();
            afterTls = new Refusal(cause, sqlState, message);
            cancelTimer(); // the startup timeout gives way to the grace for reading the refusal
            firstMessageTimer = ctx.executor().schedule(() -> {
                if (afterTls != null) { // it never sent its StartupMessage: tell it anyway
                    Refusal r = afterTls;
                    afterTls = null;
                    refuse(r.cause(), r.sqlState(), r.message());
                }
            }, REFUSED_CLIENT_GRACE_SECONDS, TimeUnit.SECONDS);
            startClientTls();
            return;
        }
        LOG.infof("refused %s: %s (%s)", ctx.channel().remoteAddress(), message, cause.label());
        ByteBuf error = ErrorResponse.fatal(ctx.alloc(), sqlState, message);
        if (session == null) {
            outsider = State.CLOSED;
            cancelTimer();
            px.sessions().refusedMaxconn();
            ctx.writeAndFlush(error).addListener(ChannelFutureListener.CLOSE);
        } else {
            cancelTimer();
            handshake.end();
            session.closeWith(cause, error);
        }
    }

    private void forwardCancel(FirstMessage.CancelRequest cancel) {
        MemberAddress target = px.sessions().cancelKeys().lookup(cancel.pid(), cancel.secret());
        if (target != null) {
            NettyConnector.cancel(px.connector(), ctx.channel(), target, cancel); // only ever to the cancelled session's member
        } else {
            LOG.debugf("cancel request for an unknown or finished session dropped");
        }
        if (session != null) {
            session.close(CloseCause.CANCEL_REQUEST);
        } else {
            outsider = State.CLOSED;
            cancelTimer();
            ctx.close();
        }
    }

    /** Ends a client that has no server yet, saying nothing. */
    private void quit(CloseCause cause) {
        if (session != null) {
            cancelTimer();
            handshake.end();
            session.close(cause);
        } else {
            if (outsider != State.CLOSED) {
                outsider = State.CLOSED;
                px.sessions().refusedMaxconn(); // turned away before it even sent its startup packet
            }
            cancelTimer();
            ctx.close();
        }
    }

    private void cancelTimer() {
        if (firstMessageTimer != null) {
            firstMessageTimer.cancel(false);
            firstMessageTimer = null;
        }
    }

    /** What the client sent beyond its first messages, relayed once the server answered. */
    ByteBuf clientIn() {
        return clientIn;
    }

    /** Whether the client sent FIN before relaying began (passed on then). */
    boolean clientInputClosed() {
        return clientInputClosed;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        quit(CloseCause.CLIENT_CLOSED);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancelTimer(); // relaying began (an encrypted session), or the client is gone
        if (clientIn != null) {
            clientIn.release();
            clientIn = null;
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent done) {
            tlsHandshakeDone(done);
        } else if (evt instanceof ChannelInputShutdownEvent) {
            clientInputClosed = true; // passed on once relaying
            State s = state();
            if (s == State.GREETING || s == State.AWAITING_STARTUP || s == State.HOLDING || s == State.CLIENT_TLS) {
                quit(CloseCause.CLIENT_CLOSED); // it gave up before it had a server
            }
        } else if (evt instanceof IdleStateEvent) {
            quit(CloseCause.CLIENT_TIMEOUT);
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        quit(CloseCause.CLIENT_ERROR);
    }
}
