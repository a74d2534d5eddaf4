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
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.patroxy.cluster.MemberView;
import io.patroxy.cluster.Routing;
import io.patroxy.config.MemberAddress;
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
 * <p>Nothing is read from the client while a server is being found (AUTO_READ is off; reads are
 * asked for one at a time), so at most one bounded first message is ever buffered.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = Logger.getLogger(FrontendHandler.class);
    /** How long a client refused for maxconn may take to send its startup packet and read why. */
    static final long REFUSED_CLIENT_GRACE_SECONDS = 5;
    private static final byte[] DECLINE = {'N'};

    private final ProxyContext px;
    private ChannelHandlerContext ctx;
    private Session session; // null: over maxconn, answered after the startup packet
    private ByteBuf clientIn;
    private Handshake handshake;
    private boolean clientInputClosed;
    private int encryptionRequests; // bits: 1 SSLRequest, 2 GSSENCRequest seen
    private boolean over; // a client refused for maxconn has been answered
    private ScheduledFuture<?> firstMessageTimer; // the startup timeout (the refused client's grace over maxconn)

    FrontendHandler(ProxyContext px) {
        this.px = px;
    }

    private State state() {
        return session == null ? (over ? State.CLOSED : State.GREETING) : session.state();
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
        } else if (m instanceof FirstMessage.EncryptionRequest enc && !encryptionAnswered(enc)) {
            MemberView leader = session == null ? null
                    : Routing.pick(px.view(), px.sessions()::sessionsOn, px.turns().getAndIncrement()).orElse(null);
            if (state() == State.GREETING && session != null && leader != null) {
                handshake.relayEncryption(encryptionCode(enc), leader.address());
            } else {
                decline(); // no leader (or refusing anyway): decline encryption ourselves
                onClientBytes(); // the StartupMessage may be here already
            }
        } else if (m instanceof FirstMessage.EncryptionRequest again) {
            // PostgreSQL answers one SSLRequest and one GSSENCRequest per connection and takes a repeat for an
            // unknown protocol (a client repeating it without reading the answers would queue them without end)
            int code = encryptionCode(again);
            refuse(CloseCause.PROTOCOL_ERROR, ErrorResponse.PROTOCOL_VIOLATION, "unsupported frontend protocol "
                    + (code >>> 16) + "." + (code & 0xffff) + ": server supports 3.0 to 3.0");
        } else if (session == null) {
            over = true;
            refuse(CloseCause.MAXCONN, ErrorResponse.TOO_MANY_CONNECTIONS,
                    "sorry, too many clients already: Patroxy's maxconn of " + px.settings().maxconn() + " is reached");
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

    /** Whether this kind of encryption request was answered on this connection already (and notes it is now). */
    private boolean encryptionAnswered(FirstMessage.EncryptionRequest enc) {
        int bit = enc.gss() ? 2 : 1;
        boolean answered = (encryptionRequests & bit) != 0;
        encryptionRequests |= bit;
        return answered;
    }

    private static int encryptionCode(FirstMessage.EncryptionRequest enc) {
        return enc.gss() ? FirstMessage.GSSENC_REQUEST : FirstMessage.SSL_REQUEST;
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

    /** Answers the client with a FATAL ErrorResponse and closes. */
    void refuse(CloseCause cause, String sqlState, String message) {
        if (state() == State.CLOSED && session != null) {
            return;
        }
        LOG.infof("refused %s: %s (%s)", ctx.channel().remoteAddress(), message, cause.label());
        ByteBuf error = ErrorResponse.fatal(ctx.alloc(), sqlState, message);
        if (session == null) {
            over = true;
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
            over = true;
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
            if (!over) {
                over = true;
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
        if (evt instanceof ChannelInputShutdownEvent) {
            clientInputClosed = true; // passed on once relaying
            State s = state();
            if (s == State.GREETING || s == State.AWAITING_STARTUP || s == State.HOLDING) {
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
