package io.patroxy.proxy;

import java.util.List;
import java.util.Optional;

import org.jboss.logging.Logger;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.patroxy.cluster.DropPolicy;
import io.patroxy.cluster.MemberView;
import io.patroxy.cluster.RouteView;
import io.patroxy.cluster.Routing;
import io.patroxy.config.MemberAddress;
import io.patroxy.pgwire.ErrorResponse;
import io.patroxy.pgwire.FirstMessage;
import io.patroxy.pgwire.SaslMechanisms;
import io.patroxy.pgwire.ServerFraming;
import io.patroxy.proxy.Session.State;

/**
 * A session's way to a server, from its first message to RELAYING (HOLDING, CONNECTING,
 * NEGOTIATING, SERVER_TLS, AWAITING_SERVER, and the kept server of AWAITING_STARTUP; see the diagram on
 * {@link Session}): waits for a leader ({@link LeaderWait}), tries one {@link ServerAttempt} at a
 * time, retries the kept StartupMessage when a server fails it before authentication, then hands
 * both pipelines over to {@link RelayHandler}s.
 *
 * <p>The routing invariant is enforced here, in one place: a session is routed (indexed on its
 * member) <em>before</em> it connects and only then reads the view; and it may begin relaying only
 * in {@link #startRelay} after {@link DropPolicy#mayRoute} says, in that same event-loop turn, that
 * the member is still the leader. Any change before that reaches it through the session's door
 * ({@link #handle}) and abandons the attempt; nothing the client sent is lost.
 *
 * <p><b>TLS to the server</b>: {@link ServerTlsLeg} says what the server's answers mean; this class acts on them.
 */
final class Handshake {

    private static final Logger LOG = Logger.getLogger(Handshake.class);
    /** Most a server's first message may take before it is passed on unexamined. */
    static final int MAX_FIRST_SERVER_MESSAGE = 16 * 1024;

    private final ProxyContext px;
    private final ChannelHandlerContext ctx;
    private final Session session;
    private final FrontendHandler frontend;
    private final LeaderWait wait;
    private FirstMessage.Startup startup;
    private int encryptionRequest;
    private ServerAttempt attempt;

    Handshake(ProxyContext px, ChannelHandlerContext ctx, Session session, FrontendHandler frontend) {
        this.px = px;
        this.ctx = ctx;
        this.session = session;
        this.frontend = frontend;
        this.wait = new LeaderWait(px, session, this, ctx.executor());
    }

    /**
     * The client's SSLRequest / GSSENCRequest is passed on to {@code leader} (null: to the server
     * kept after its 'N' to a GSSENCRequest): end-to-end TLS stays the server's business.
     */
    void relayEncryption(int request, MemberAddress leader) {
        encryptionRequest = request;
        if (leader == null) {
            session.to(State.NEGOTIATING);
            attempt.channel().writeAndFlush(attempt.channel().alloc().buffer(8).writeInt(8).writeInt(request));
            if (attempt.received() != null && attempt.received().isReadable()) {
                onServerBytes(attempt);
            } else {
                attempt.read();
            }
        } else {
            connect(leader);
        }
    }

    /** Passthrough with no leader: the SSLRequest is held like a StartupMessage and passed on when a leader comes. */
    void holdEncryption(int request) {
        encryptionRequest = request;
        wait.hold(false);
    }

    /** Whether a server answered the client's GSSENCRequest with 'N' and is kept for what comes next. */
    boolean keptServer() {
        return attempt != null && attempt.channel() != null && session.state() == State.AWAITING_STARTUP;
    }

    /** Passthrough: the client's SSLRequest has not been answered yet (held, connecting, or at the server). */
    boolean awaitsSslAnswer() {
        return encryptionRequest == FirstMessage.SSL_REQUEST && startup == null
                && (session.state() == State.HOLDING || session.state() == State.CONNECTING || session.state() == State.NEGOTIATING);
    }

    /** The client's StartupMessage: to the server kept after its 'N', else routed afresh. */
    void startup(FirstMessage.Startup message) {
        startup = message;
        if (attempt != null && attempt.channel() != null) {
            session.to(State.AWAITING_SERVER); // the server declined encryption on this connection
            sendStartup();
        } else {
            route();
        }
    }

    /** Connects to the leader, or waits for one within the hold. */
    void route() {
        RouteView view = px.view();
        Optional<MemberView> target = Routing.pick(view, px.sessions()::sessionsOn, px.turns().getAndIncrement());
        if (target.isPresent()) {
            connect(target.get().address());
        } else {
            wait.hold(false);
        }
    }

    /** An event through the session's door, on the event loop, before relaying: decided by the snapshot current now. */
    void handle(Session.Event event) {
        if (event == Session.Event.SHUTDOWN) {
            frontend.refuse(CloseCause.SHUTDOWN, ErrorResponse.ADMIN_SHUTDOWN, "Patroxy is shutting down");
            return;
        }
        if (session.state() == State.HOLDING) {
            onLeader();
        } else if (attempt != null && !DropPolicy.mayRoute(px.view(), attempt.member().name())) {
            abandonAttempt(); // its member went down or lost the lead: try the leader instead
            onLeader(); // at once when one is known (a switchover costs the client nothing)
        }
    }

    /** An administrator shut down the sessions of this session's member before it relayed. */
    void shutDown(String why) {
        frontend.refuse(CloseCause.SHUTDOWN_SESSIONS, ErrorResponse.ADMIN_SHUTDOWN, "terminating connection because " + why);
    }

    /** Called when a leader may be known (woken or the retry pause is over). */
    void onLeader() {
        if (session.state() != State.HOLDING) {
            return;
        }
        if (Routing.candidates(px.view()).isEmpty()) {
            wait.hold(false);
            return;
        }
        wait.leave();
        route();
    }

    /** The hold is over without a server. */
    void giveUp() {
        wait.leave();
        RouteView view = px.view();
        List<MemberView> candidates = Routing.candidates(view);
        if (candidates.isEmpty()) {
            frontend.refuse(CloseCause.NO_LEADER, ErrorResponse.CANNOT_CONNECT_NOW, view.noneMessage());
        } else {
            MemberAddress m = candidates.get(0).address();
            frontend.refuse(CloseCause.CONNECT_FAILED, ErrorResponse.CONNECTION_FAILURE, "could not connect to "
                    + (view.routing().leaderRole() ? "leader " : "member ") + m.name()
                    + " at " + m.host() + ":" + m.pgPort() + " within Patroxy's hold of " + px.settings().holdTimeout()
                    .toSeconds() + " s");
        }
    }

    /** The hold queue is full. */
    void holdQueueFull() {
        frontend.refuse(CloseCause.NO_LEADER, ErrorResponse.CANNOT_CONNECT_NOW, px.view().noneMessage() + "; and "
                + px.settings().holdQueue() + " clients are already waiting");
    }

    // ---------------------------------------------------------------- one server attempt at a time

    private void connect(MemberAddress target) {
        session.to(State.CONNECTING);
        wait.attempted();
        attempt = new ServerAttempt(this, target);
        px.sessions().route(session, target); // first routed, then the view is read: see the class comment
        if (DropPolicy.mayRoute(px.view(), target.name())) {
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
        } else if (!DropPolicy.mayRoute(px.view(), a.member().name())) {
            abandonAttempt(); // the leader moved while we connected
        } else if (startup == null) {
            session.to(State.NEGOTIATING); // pass on the client's SSLRequest / GSSENCRequest
            a.channel().writeAndFlush(a.channel().alloc().buffer(8).writeInt(8).writeInt(encryptionRequest));
            a.read();
        } else if (px.tls().settings().serverLegTls()) {
            session.to(State.SERVER_TLS); // Patroxy's own SSLRequest to the server
            a.channel().writeAndFlush(a.channel().alloc().buffer(8).writeInt(8).writeInt(FirstMessage.SSL_REQUEST));
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
        switch (session.state()) {
            case NEGOTIATING -> {
                byte answer = in.getByte(in.readerIndex());
                if (answer == 'S' || answer == 'G') {
                    startRelay(null); // encrypted: relayed opaquely from here on
                } else if (answer == 'N') {
                    in.skipBytes(1); // what follows stays kept for after the StartupMessage
                    frontend.decline();
                    a.read();
                } else {
                    startRelay(new ServerFraming()); // an error instead of an answer: pass it on
                }
            }
            case SERVER_TLS -> onServerTlsAnswer(a, in);
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

    /** The server's answer to Patroxy's own SSLRequest. */
    private void onServerTlsAnswer(ServerAttempt a, ByteBuf in) {
        if (a.tls()) {
            a.read(); // nothing is expected from the server before the StartupMessage; kept
            return;
        }
        ServerTlsLeg.Answer answer = ServerTlsLeg.answer(in, px.tls().settings().serverMode());
        switch (answer) {
            case START_TLS -> {
                in.skipBytes(1);
                a.startTls(px.tls().serverHandler(a.channel().alloc(), a.member()));
            }
            case PLAINTEXT -> {
                in.skipBytes(1);
                session.to(State.AWAITING_SERVER);
                sendStartup();
            }
            case NOT_AN_ANSWER -> abandonAttempt(); // as before authentication
            default -> refuseServerTls(a, ServerTlsLeg.why(answer));
        }
    }

    /** The TLS handshake with the current attempt's server ended. */
    void onServerTlsDone(ServerAttempt a, SslHandshakeCompletionEvent done) {
        if (a != attempt || session.state() != State.SERVER_TLS) {
            return;
        }
        if (done.isSuccess()) {
            session.to(State.AWAITING_SERVER);
            sendStartup();
        } else {
            refuseServerTls(a, "the TLS handshake failed: " + done.cause().getMessage());
        }
    }

    private void refuseServerTls(ServerAttempt a, String why) {
        String message = ServerTlsLeg.refusal(a.member(), px.tls().settings().serverMode(), why);
        LOG.warn(message);
        frontend.refuse(CloseCause.SERVER_TLS, ErrorResponse.CONNECTION_FAILURE, message);
    }

    private void onServerFirstMessage(ServerAttempt a, ByteBuf in) {
        if (a.tls() && SaslMechanisms.incomplete(in, MAX_FIRST_SERVER_MESSAGE)) {
            a.read(); // the whole AuthenticationSASL first, to take SCRAM-SHA-256-PLUS out of it
            return;
        }
        String sqlState = ServerFraming.firstMessageError(in, MAX_FIRST_SERVER_MESSAGE);
        if (sqlState == null) {
            a.read();
        } else if (sqlState.isEmpty() && px.view().routing().leaderRole() && ServerFraming.saysHotStandby(in)) {
            // logged in at once (no password exchange) on a server that says it is a standby: demoted before the
            // checks saw it; the client has seen nothing, so it goes on to the leader as after a refusal
            LOG.debugf("%s: %s reported in_hot_standby = on before the client saw anything; retrying on the leader", session,
                    a.member().name());
            abandonAttempt();
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
     * lost. An SSLRequest still waiting is held like a StartupMessage (and tried again); a
     * GSSENCRequest gets Patroxy's own 'N', and what follows is handled as a first message.
     */
    private void abandonAttempt() {
        ServerAttempt a = attempt;
        attempt = null;
        a.abandon();
        px.sessions().unroute(session);
        switch (session.state()) {
            case AWAITING_STARTUP, CLOSED -> { } // the StartupMessage will be routed afresh when it comes
            default -> {
                if (startup == null && encryptionRequest != FirstMessage.SSL_REQUEST) {
                    frontend.decline(); // a GSSENCRequest: Patroxy's 'N' (never for an SSLRequest: that is held)
                } else {
                    wait.hold(true);
                }
            }
        }
    }

    /** The one place a session begins relaying: only on the leader of the snapshot current now. */
    private void startRelay(ServerFraming framing) {
        if (!DropPolicy.mayRoute(px.view(), attempt.member().name())) {
            abandonAttempt();
            return;
        }
        wait.leave();
        Channel client = ctx.channel();
        Channel server = attempt.channel();
        ByteBuf first = ServerTlsLeg.forClient(attempt.takeReceived(client), attempt.tls(), session); // named only if it is logged
        attempt = null;
        session.relaying(server, framing, px.sessions().relayStarted(session), server.pipeline().get("tls") != null);
        session.countRelayed(true, (encryptionRequest != 0 ? 8 : 0) + (startup != null ? startup.packet().length : 0));
        if (!session.serverBytes(first)) { // a standby (usually caught before: onServerFirstMessage); the session ended
            first.release();
            return;
        }
        session.countRelayed(false, first.readableBytes());
        client.writeAndFlush(first);
        ByteBuf clientIn = frontend.clientIn();
        if (clientIn.isReadable()) {
            session.countRelayed(true, clientIn.readableBytes());
            server.writeAndFlush(clientIn.retainedSlice());
        }
        server.pipeline().replace("handshake", "relay", RelayHandler.serverToClient(session));
        ctx.pipeline().replace(frontend, "relay", RelayHandler.clientToServer(session));
        if (frontend.clientInputClosed()) {
            session.inputClosed(true);
        }
        session.updateReads();
    }

    /** The session ends before relaying: out of the hold, its server (if any) given up. */
    void end() {
        wait.leave();
        if (attempt != null) {
            attempt.abandon();
            attempt = null;
        }
    }
}
