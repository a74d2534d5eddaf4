package io.patroxy.proxy;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.patroxy.cluster.ClusterView;
import io.patroxy.cluster.DropPolicy;
import io.patroxy.cluster.MemberView;
import io.patroxy.config.MemberAddress;
import io.patroxy.pgwire.ErrorResponse;
import io.patroxy.pgwire.FirstMessage;
import io.patroxy.pgwire.ServerFraming;
import io.patroxy.proxy.Session.State;

/**
 * Drives a {@link Session} through the states before RELAYING (see the diagram on Session): reads
 * the client's first message within PostgreSQL's bounds, waits for a leader ({@link LeaderWait}),
 * and tries one {@link ServerAttempt} at a time, retrying the kept StartupMessage when a server
 * fails it before authentication. Then it hands both pipelines over to {@link RelayHandler}s.
 *
 * <p>The routing invariant: a session is
 * registered on its member <em>before</em> it connects, and it may begin relaying only in
 * {@link #startRelay} after {@link DropPolicy#mayRoute} says, in that same event-loop turn, that
 * the member is still the leader. Any change before that reaches it through the session's door
 * ({@link #handle}) and abandons the attempt.
 *
 * <p>Nothing is read from the client while a server is being found (AUTO_READ is off; reads are
 * asked for one at a time), so at most one bounded first message is ever buffered.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = Logger.getLogger(FrontendHandler.class);
    /** How long a client refused for maxconn may take to send its startup packet and read why. */
    static final long REFUSED_CLIENT_GRACE_SECONDS = 5;
    /** Most a server's first message may take before it is passed on unexamined. */
    static final int MAX_FIRST_SERVER_MESSAGE = 16 * 1024;
    private static final byte[] DECLINE = {'N'};

    private final ProxyContext px;
    private ChannelHandlerContext ctx;
    private Session session; // null: over maxconn, answered after the startup packet
    private ByteBuf clientIn;
    private FirstMessage.Startup startup;
    private int encryptionRequest;
    private ServerAttempt attempt;
    private LeaderWait wait;
    private boolean clientInputClosed;
    private boolean over; // a client refused for maxconn has been answered
    private ScheduledFuture<?> maxconnTimer;

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
            maxconnTimer = ctx.executor().schedule(() -> quit(CloseCause.MAXCONN), REFUSED_CLIENT_GRACE_SECONDS, TimeUnit.SECONDS);
        } else {
            session.frontend(this);
            wait = new LeaderWait(px, session, this, ctx.executor());
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
            MemberView leader = px.view().get().leader();
            if (state() == State.GREETING && session != null && leader != null) {
                // relay the request: end-to-end TLS stays the server's business
                encryptionRequest = enc.gss() ? FirstMessage.GSSENC_REQUEST : FirstMessage.SSL_REQUEST;
                connect(leader.address());
            } else {
                decline(); // no leader (or refusing anyway): decline encryption ourselves
                onClientBytes(); // the StartupMessage may be here already
            }
        } else if (session == null) {
            over = true;
            refuse(CloseCause.MAXCONN, ErrorResponse.TOO_MANY_CONNECTIONS,
                    "sorry, too many clients already: Patroxy's maxconn of " + px.settings().maxconn() + " is reached");
        } else {
            startup = (FirstMessage.Startup) m;
            if (attempt != null && attempt.channel() != null) {
                session.to(State.AWAITING_SERVER); // the server declined encryption on this connection
                sendStartup();
            } else {
                route();
            }
        }
    }

    /** Answers an encryption request with Patroxy's own 'N'; the StartupMessage comes next, in the clear. */
    private void decline() {
        if (session != null) {
            session.to(State.AWAITING_STARTUP);
        }
        ctx.writeAndFlush(Unpooled.wrappedBuffer(DECLINE));
        ctx.read();
    }

    // ---------------------------------------------------------------- routing, the one door, the hold

    /** Connects to the leader, or waits for one within the hold. */
    private void route() {
        MemberView leader = px.view().get().leader();
        if (leader != null) {
            connect(leader.address());
        } else {
            wait.hold(false);
        }
    }

    /** An event through the session's door, on the event loop, before relaying: decided by the snapshot current now. */
    void handle(Session.Event event) {
        if (event == Session.Event.SHUTDOWN) {
            refuse(CloseCause.SHUTDOWN, ErrorResponse.ADMIN_SHUTDOWN, "Patroxy is shutting down");
            return;
        }
        if (state() == State.HOLDING) {
            onLeader();
        } else if (attempt != null && !DropPolicy.mayRoute(px.view().get(), attempt.member().name())) {
            abandonAttempt(); // its member went down or lost the lead: try the leader instead
            onLeader(); // at once when one is known (a switchover costs the client nothing)
        }
    }

    /** Called when a leader may be known (woken or the retry pause is over). */
    void onLeader() {
        if (state() != State.HOLDING) {
            return;
        }
        if (px.view().get().leader() == null) {
            wait.hold(false);
            return;
        }
        wait.leave();
        route();
    }

    /** The hold is over without a server. */
    void giveUp() {
        wait.leave();
        ClusterView view = px.view().get();
        if (view.leader() == null) {
            refuse(CloseCause.NO_LEADER, ErrorResponse.CANNOT_CONNECT_NOW, view.noLeaderMessage());
        } else {
            MemberAddress m = view.leader().address();
            refuse(CloseCause.CONNECT_FAILED, ErrorResponse.CONNECTION_FAILURE, "could not connect to leader " + m.name()
                    + " at " + m.host() + ":" + m.pgPort() + " within Patroxy's hold of " + px.settings().holdTimeout()
                    .toSeconds() + " s");
        }
    }

    /** The hold queue is full. */
    void holdQueueFull() {
        refuse(CloseCause.NO_LEADER, ErrorResponse.CANNOT_CONNECT_NOW, px.view().get().noLeaderMessage() + "; and "
                + px.settings().holdQueue() + " clients are already waiting");
    }

    // ---------------------------------------------------------------- one server attempt at a time

    private void connect(MemberAddress target) {
        session.to(State.CONNECTING);
        wait.attempted();
        attempt = new ServerAttempt(this, target);
        px.sessions().route(session, target); // first routed, then the view is read: see the class comment
        if (DropPolicy.mayRoute(px.view().get(), target.name())) {
            attempt.connect(px.connector(), ctx.channel());
        } else {
            abandonAttempt(); // the snapshot changed between reading the leader and routing to it
        }
    }

    void onConnected(ServerAttempt a, ChannelFuture f) {
        if (a != attempt) {
            return;
        }
        if (!f.isSuccess()) {
            px.sessions().connectFailed(a.member());
            LOG.debugf("%s: connect to %s failed (%s), attempt %d", session, a.member().name(), f.cause().getMessage(), wait.attempts());
            abandonAttempt();
        } else if (!DropPolicy.mayRoute(px.view().get(), a.member().name())) {
            abandonAttempt(); // the leader moved while we connected
        } else if (startup == null) {
            session.to(State.NEGOTIATING); // pass on the client's SSLRequest / GSSENCRequest
            a.channel().writeAndFlush(a.channel().alloc().buffer(8).writeInt(8).writeInt(encryptionRequest));
            a.read();
        } else {
            session.to(State.AWAITING_SERVER);
            sendStartup();
        }
    }

    private void sendStartup() {
        attempt.channel().writeAndFlush(Unpooled.wrappedBuffer(startup.packet()));
        if (attempt.received() != null && attempt.received().isReadable()) {
            onServerBytes(attempt); // it spoke before the StartupMessage (a FATAL while stopping, say)
        } else {
            attempt.read();
        }
    }

    /** Bytes from the current attempt's server, kept in {@link ServerAttempt#received()}. */
    void onServerBytes(ServerAttempt a) {
        if (a != attempt) {
            return;
        }
        ByteBuf in = a.received();
        switch (state()) {
            case NEGOTIATING -> {
                byte answer = in.getByte(in.readerIndex());
                if (answer == 'S' || answer == 'G') {
                    startRelay(null); // encrypted: relayed opaquely from here on
                } else if (answer == 'N') {
                    in.skipBytes(1); // what follows stays kept for after the StartupMessage
                    decline();
                    a.read();
                } else {
                    startRelay(new ServerFraming()); // an error instead of an answer: pass it on
                }
            }
            case AWAITING_STARTUP -> {
                if (in.readableBytes() > MAX_FIRST_SERVER_MESSAGE) {
                    abandonAttempt(); // chatter before the StartupMessage: not a server to keep
                } else {
                    a.read();
                }
            }
            case AWAITING_SERVER -> onServerFirstMessage(a, in);
            default -> { }
        }
    }

    private void onServerFirstMessage(ServerAttempt a, ByteBuf in) {
        String sqlState = ServerFraming.firstMessageError(in, MAX_FIRST_SERVER_MESSAGE);
        if (sqlState == null) {
            a.read();
        } else if ((sqlState.equals(ErrorResponse.CANNOT_CONNECT_NOW) || sqlState.equals(ErrorResponse.ADMIN_SHUTDOWN))
                && wait.withinHold()) {
            LOG.debugf("%s: %s answered %s before authentication; retrying on the leader", session, a.member().name(), sqlState);
            abandonAttempt();
        } else {
            startRelay(new ServerFraming());
        }
    }

    /** The current attempt's server ended or failed before relaying. */
    void onServerGone(ServerAttempt a) {
        if (a == attempt) {
            abandonAttempt(); // reset or closed before the client's session began there: go on elsewhere
        }
    }

    /**
     * Gives up the current server and carries on without it: nothing the client sent so far is
     * lost. An encryption request still waiting gets Patroxy's own 'N' (clients do not wait long
     * for it: pgjdbc gives up after 5 s) and the StartupMessage that follows is held instead.
     */
    private void abandonAttempt() {
        ServerAttempt a = attempt;
        attempt = null;
        a.abandon();
        px.sessions().unroute(session);
        switch (state()) {
            case AWAITING_STARTUP, CLOSED -> { } // the StartupMessage will be routed afresh when it comes
            default -> {
                if (startup == null) {
                    decline();
                } else {
                    wait.hold(true);
                }
            }
        }
    }

    /** The one place a session begins relaying: only on the leader of the snapshot current now. */
    private void startRelay(ServerFraming framing) {
        if (!DropPolicy.mayRoute(px.view().get(), attempt.member().name())) {
            abandonAttempt();
            return;
        }
        wait.leave();
        Channel client = ctx.channel();
        Channel server = attempt.channel();
        ByteBuf first = attempt.takeReceived(client);
        attempt = null;
        session.relaying(server, framing, px.sessions().relayStarted(session));
        session.countRelayed(true, (encryptionRequest != 0 ? 8 : 0) + (startup != null ? startup.packet().length : 0));
        session.serverBytes(first);
        session.countRelayed(false, first.readableBytes());
        client.writeAndFlush(first);
        if (clientIn.isReadable()) {
            session.countRelayed(true, clientIn.readableBytes());
            server.writeAndFlush(clientIn.retainedSlice());
        }
        server.pipeline().replace("handshake", "relay", RelayHandler.serverToClient(session));
        ctx.pipeline().replace(this, "relay", RelayHandler.clientToServer(session));
        if (clientInputClosed) {
            session.inputClosed(true);
        }
        session.updateReads();
    }

    // ---------------------------------------------------------------- endings

    /** Answers the client with a FATAL ErrorResponse and closes. */
    private void refuse(CloseCause cause, String sqlState, String message) {
        if (state() == State.CLOSED && session != null) {
            return;
        }
        LOG.infof("refused %s: %s (%s)", ctx.channel().remoteAddress(), message, cause.label());
        ByteBuf error = ErrorResponse.fatal(ctx.alloc(), sqlState, message);
        if (session == null) {
            over = true;
            cancelMaxconnTimer();
            px.sessions().refusedMaxconn();
            ctx.writeAndFlush(error).addListener(ChannelFutureListener.CLOSE);
        } else {
            endAttempt();
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
            cancelMaxconnTimer();
            ctx.close();
        }
    }

    /** Ends a client that has no server yet, saying nothing. */
    private void quit(CloseCause cause) {
        if (session != null) {
            endAttempt();
            session.close(cause);
        } else {
            if (!over) {
                over = true;
                px.sessions().refusedMaxconn(); // turned away before it even sent its startup packet
            }
            cancelMaxconnTimer();
            ctx.close();
        }
    }

    private void endAttempt() {
        wait.leave();
        if (attempt != null) {
            attempt.abandon();
            attempt = null;
        }
    }

    private void cancelMaxconnTimer() {
        if (maxconnTimer != null) {
            maxconnTimer.cancel(false);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        quit(CloseCause.CLIENT_CLOSED);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
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
