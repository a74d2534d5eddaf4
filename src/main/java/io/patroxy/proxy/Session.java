package io.patroxy.proxy;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.socket.DuplexChannel;
import io.patroxy.cluster.RouteView;
import io.patroxy.cluster.DropPolicy;
import io.patroxy.config.MemberAddress;
import io.patroxy.pgwire.ErrorResponse;
import io.patroxy.pgwire.ServerFraming;

/**
 * One client session and its one explicit state machine. The client channel and every server
 * channel of the session live on the <em>same event loop</em>, so the state needs no locks.
 *
 * <pre>
 *             ┌────────────── Cancel: passed on (or dropped) ───────────────────────────────┐
 *  GREETING ──┼─ GSS, no leader / terminating: 'N' ─▶ AWAITING_STARTUP ──Startup──┐          │
 *     │       ├─ SSL/GSS, leader (passthrough) ──┐        ▲    │ (server kept)    │          │
 *     │       ├─ SSL, no leader (passthrough): held ─▶ HOLDING                     │          │
 *     │       └─ SSL, terminating: 'S' ─▶ CLIENT_TLS ─▶ AWAITING_STARTUP (inside TLS) ─Startup─▶ HOLDING / CONNECTING
 *     │ Startup                          ▼        │'N' ▼                  ▼                   ▼
 *     └──────▶ HOLDING ◀──────▶ CONNECTING ──▶ NEGOTIATING      AWAITING_SERVER ──▶ RELAYING ──▶ DRAINING ──▶ CLOSED
 *               ▲  no leader /      │  │  'S'/'G' ─────────────────────────────────────▲   │  drop,     (boundary
 *               │  retry            │  └──── connected, Startup sent ─▶ AWAITING_SERVER   mid-message   or 500 ms)
 *               │                   └─ terminating, server TLS on: SERVER_TLS ─'S', handshake / 'N' (prefer)─▶ AWAITING_SERVER
 *               └──── attempt abandoned (server gone, 57P01/57P03, its member no longer the leader)
 *  HOLDING with an SSLRequest, hold over: 'S' ─▶ CLIENT_TLS ─▶ AWAITING_STARTUP ─Startup─▶ FATAL inside TLS ─▶ CLOSED
 * </pre>
 * Patroxy never answers 'N' to an SSLRequest on a server's behalf (docs/tls.md).
 * Every state may end in CLOSED (client gone, timeout, refusal, shutdown). The states before
 * RELAYING belong to {@link FrontendHandler} (the client's first messages) and {@link Handshake}
 * (the way to a server, one {@link ServerAttempt} at a time).
 *
 * <p><b>The one door.</b> Outside events — a new cluster snapshot that concerns the session's
 * member, Patroxy's shutdown — enter only through {@link #post(Event)}, which always hops to the
 * session's event loop; there the session decides by the snapshot current <em>then</em>
 * ({@link DropPolicy}), so a late or repeated notice never drops a session that may stay.
 * Together with "register the routing first, then read the view" (the front end) and "publish
 * the view first, then notify" (the registry), no session stays on a member that may not have it
 * for longer than one event-loop turn.
 *
 * <p><b>Backpressure, one owner</b> ({@link #updateReads()}): the client is read only while
 * RELAYING and the server is writable; the server is read while RELAYING or DRAINING and the
 * client is writable.
 */
public final class Session {

    private static final Logger LOG = Logger.getLogger(Session.class);

    /** How long a drop waits for the server to finish the message it is in the middle of sending. */
    static final Duration DROP_BOUNDARY_WAIT = Duration.ofMillis(500);

    /** The states of the diagram above. */
    public enum State {
        GREETING, CLIENT_TLS, HOLDING, CONNECTING, NEGOTIATING, SERVER_TLS, AWAITING_STARTUP, AWAITING_SERVER, RELAYING, DRAINING, CLOSED;

        boolean relays() {
            return this == RELAYING || this == DRAINING;
        }
    }

    /** What may come through the door. */
    enum Event {
        /** The verdict on the session's member changed, or a leader became known. */
        ROUTE_CHANGED,
        /** Patroxy's grace period is over. */
        SHUTDOWN,
        /**
         * An administrator shut down the sessions of a member: the session ends if it is still on
         * that member, routed there before the request ({@link SessionRegistry#shutdownSessions}).
         */
        SHUTDOWN_SESSIONS
    }

    private final long id;
    private final Channel client;
    private final SessionRegistry registry;
    private final Instant started = Instant.now();
    private final long startedNanos = System.nanoTime();
    private State state = State.GREETING;
    private Handshake handshake;
    private volatile MemberAddress member;
    private volatile long routeSeq;
    private Channel server;
    private MemberTraffic traffic;
    private ServerStream stream;
    private long clientToServerBytes;
    private long serverToClientBytes;
    private final HalfClose halfClose = new HalfClose();
    private CloseCause drainCause;
    private String drainWhy;
    private volatile CloseCause cause;
    private volatile boolean clientTls;
    private volatile boolean serverTls;

    Session(long id, Channel client, SessionRegistry registry) {
        this.id = id;
        this.client = client;
        this.registry = registry;
    }

    // ---------------------------------------------------------------- the door

    /** The only way in from other threads: always hops to the session's event loop and decides there. */
    void post(Event event) {
        client.eventLoop().execute(() -> handle(event));
    }

    private void handle(Event event) {
        if (event == Event.SHUTDOWN_SESSIONS) {
            MemberAddress m = member;
            if (state == State.CLOSED || m == null || !registry.shutdownRequested(m.name(), routeSeq)) {
                return; // it left the member, or came to it after the request
            }
            String why = "an administrator shut down the sessions of member " + m.name() + " (Patroxy)";
            if (state.relays()) {
                drop(CloseCause.SHUTDOWN_SESSIONS, why);
            } else {
                handshake.shutDown(why);
            }
            return;
        }
        switch (state) {
            case CLOSED -> { }
            case RELAYING, DRAINING -> {
                if (event == Event.SHUTDOWN) {
                    drop(CloseCause.SHUTDOWN, "Patroxy is shutting down");
                    return;
                }
                RouteView view = registry.view();
                DropPolicy.Verdict verdict = DropPolicy.verdict(view, member.name());
                if (verdict.dropsRelaying()) {
                    drop(switch (verdict) {
                        case MEMBER_DOWN -> CloseCause.MEMBER_DOWN;
                        case MEMBER_MAINT -> CloseCause.MEMBER_MAINT;
                        default -> CloseCause.LEADER_CHANGED;
                    }, DropPolicy.why(view, member.name()));
                }
            }
            default -> handshake.handle(event);
        }
    }

    State state() { return state; }

    void to(State next) {
        if (state != State.CLOSED) {
            state = next;
        }
    }

    void handshake(Handshake handshake) { this.handshake = handshake; }

    /** The member the session is routed to (connecting, handshaking or relaying), null while it has none. */
    public MemberAddress member() { return member; }

    /** @param seq the registry's routing sequence number when it was routed there */
    void routedTo(MemberAddress member, long seq) {
        this.member = member;
        this.routeSeq = seq;
    }

    /** Patroxy completed TLS with the client (its own certificate): the session is read inside TLS. */
    void clientTls() { this.clientTls = true; }

    /** Whether the client's TLS ends in Patroxy (terminate, require, or a refusal told inside TLS). */
    public boolean clientTlsTerminated() { return clientTls; }

    /** Whether Patroxy's leg to the server is TLS of its own. */
    public boolean serverTls() { return serverTls; }

    /**
     * Relaying begins on {@code server}; {@code framing} is null for an encrypted (opaque) session;
     * {@code serverTls}: Patroxy's own TLS to the server.
     */
    void relaying(Channel server, ServerFraming framing, MemberTraffic traffic, boolean serverTls) {
        this.server = server;
        this.serverTls = serverTls;
        this.stream = new ServerStream(framing, registry.cancelKeys(), member);
        this.traffic = traffic;
        this.state = State.RELAYING;
    }

    // ---------------------------------------------------------------- the relay

    Channel peerOf(boolean fromClient) { return fromClient ? server : client; }

    /** Whether bytes read from this side may be passed on: client bytes only while RELAYING (never to a member being dropped). */
    boolean forwards(boolean fromClient) { return fromClient ? state == State.RELAYING : state.relays(); }

    /** The backpressure rule, its one owner: see the class comment. */
    void updateReads() {
        if (server == null) {
            return;
        }
        client.config().setAutoRead(state == State.RELAYING && server.isWritable());
        server.config().setAutoRead(state.relays() && client.isWritable());
    }

    void countRelayed(boolean fromClient, int bytes) {
        if (fromClient) {
            clientToServerBytes += bytes;
            traffic.clientToServerBytes.add(bytes);
        } else {
            serverToClientBytes += bytes;
            traffic.serverToClientBytes.add(bytes);
        }
    }

    /** A client chunk about to be relayed (a Terminate at its end makes the server's close that follows normal). */
    void clientBytes(ByteBuf buf) {
        halfClose.clientChunk(buf);
    }

    /**
     * A server chunk about to be relayed: its framing followed, its cancel key noted. False when it
     * must not reach the client: on a listener of the leader role the server said it is a standby
     * ({@code in_hot_standby = on}, sent at login before ReadyForQuery) — the session ends with a
     * FATAL instead, before the client could run anything there (see {@link ServerStream#hotStandby}).
     */
    boolean serverBytes(ByteBuf buf) {
        boolean boundaryBefore = stream.atBoundary();
        stream.follow(buf);
        if (!stream.hotStandby() || !registry.routing().leaderRole() || state == State.CLOSED || state == State.DRAINING) {
            return true;
        }
        String why = "member " + member.name() + " is in recovery (it reported in_hot_standby = on): it is not the leader";
        if (boundaryBefore && client.isActive()) {
            LOG.debugf("%s: dropped (%s): %s", this, CloseCause.MEMBER_IN_RECOVERY.label(), why);
            closeWith(CloseCause.MEMBER_IN_RECOVERY, ErrorResponse.fatal(client.alloc(), ErrorResponse.ADMIN_SHUTDOWN,
                    "terminating connection because " + why));
            return false;
        }
        drop(CloseCause.MEMBER_IN_RECOVERY, why); // mid-message before this chunk: at the end of that message
        return true;
    }

    /** A server chunk was passed on: a drop that waited for the end of a message can happen now. */
    void serverChunkRelayed() {
        if (state == State.DRAINING && stream.atBoundary()) {
            finish(drainCause, drainWhy, null);
        }
    }

    /**
     * One side sent FIN. Half-close is passed on: the other side's output is shut down once what
     * is queued for it is flushed, and the session ends when both directions are done.
     */
    void inputClosed(boolean fromClient) {
        if (!fromClient && serverLeftLoginSilently()) {
            return;
        }
        boolean bothDone = halfClose.fin(fromClient);
        Channel peer = peerOf(fromClient);
        if (!bothDone && peer instanceof DuplexChannel duplex && peer.isActive()) {
            peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> duplex.shutdownOutput());
        } else {
            close(halfClose.afterFin());
        }
    }

    /** A channel of this session became inactive while relaying. */
    void channelClosed(boolean clientSide) {
        if (!clientSide && serverLeftLoginSilently()) {
            return;
        }
        close(halfClose.inactive(clientSide));
    }

    /**
     * A reset or I/O error on the server connection while relaying. A backend that exits mid-login with
     * the client's password response still unread in its socket resets the connection rather than
     * closing it: the same silent end as below, told the same way.
     */
    void serverFailed() {
        if (!serverLeftLoginSilently()) {
            close(CloseCause.SERVER_ERROR);
        }
    }

    /**
     * The server ended the session while its client was still logging in, without an ErrorResponse
     * (closed or reset): PostgreSQL does that when it is shut down while a client authenticates (it
     * does not risk writing to a client in the middle of authentication). The client, which would otherwise see
     * the connection vanish, gets a FATAL saying so; true if that is what happened.
     */
    private boolean serverLeftLoginSilently() {
        if (state == State.CLOSED || stream == null || !stream.loginCutSilently() || halfClose.clientEnded() || !client.isActive()) {
            return false;
        }
        closeWith(CloseCause.SERVER_CLOSED_IN_LOGIN, ErrorResponse.fatal(client.alloc(), ErrorResponse.CONNECTION_FAILURE,
                "member " + member.name() + " at " + member.host() + ":" + member.pgPort()
                        + " closed the connection during authentication without an error (PostgreSQL does so when it is"
                        + " shut down while a client logs in); Patroxy cannot retry a login whose password exchange has begun"));
        return true;
    }

    // ---------------------------------------------------------------- endings

    /**
     * Drops a relaying session, telling the client {@code why} in a FATAL ErrorResponse at the
     * next message boundary when the session is unencrypted: at once if the server stands between
     * two messages, else once it finishes the message it is sending (DRAINING) — or, if it is stuck
     * mid-message for {@link #DROP_BOUNDARY_WAIT}, the close happens then without a word.
     */
    private void drop(CloseCause dropCause, String why) {
        if (state == State.DRAINING) {
            return;
        }
        LOG.debugf("%s: dropped (%s): %s", this, dropCause.label(), why);
        if (stream.midMessage() && client.isActive() && server.isActive()) {
            state = State.DRAINING;
            drainCause = dropCause;
            drainWhy = why;
            updateReads();
            client.eventLoop().schedule(() -> finish(dropCause, null, null), DROP_BOUNDARY_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            return;
        }
        finish(dropCause, why, null);
    }

    /** Ends the session with {@code cause}, on the event loop; only the first cause counts. */
    void close(CloseCause cause) {
        finish(cause, null, null);
    }

    /** Ends the session after writing {@code farewell} (an ErrorResponse) to the client. On the event loop. */
    void closeWith(CloseCause cause, ByteBuf farewell) {
        finish(cause, null, farewell);
    }

    private void finish(CloseCause closeCause, String why, ByteBuf farewell) {
        if (state == State.CLOSED) {
            if (farewell != null) {
                farewell.release();
            }
            return;
        }
        state = State.CLOSED;
        this.cause = closeCause;
        if (farewell == null && why != null && stream != null && stream.atBoundary() && client.isActive()) {
            farewell = ErrorResponse.fatal(client.alloc(), ErrorResponse.ADMIN_SHUTDOWN, "terminating connection because " + why);
        }
        if (farewell != null && client.isActive()) {
            client.writeAndFlush(farewell).addListener(ChannelFutureListener.CLOSE);
        } else {
            if (farewell != null) {
                farewell.release();
            }
            closeChannel(client, closeCause);
        }
        closeChannel(server, closeCause);
        if (stream != null) {
            stream.ended();
        }
        registry.finished(this);
    }

    private static void closeChannel(Channel channel, CloseCause cause) {
        if (channel == null) {
            return;
        }
        if (cause.flushFirst() && channel.isActive()) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
            channel.close();
        }
    }

    public long id() { return id; }
    public String listener() { return registry.routing().listener(); } // "" without patroxy.listeners
    public Channel client() { return client; }
    public Channel server() { return server; }
    public Instant started() { return started; }
    /** How long the session has lasted, by the monotonic clock. */
    public Duration elapsed() { return Duration.ofNanos(System.nanoTime() - startedNanos); }
    public long clientToServerBytes() { return clientToServerBytes; }
    public long serverToClientBytes() { return serverToClientBytes; }
    /** Why the session ended, null while it is open. */
    public CloseCause cause() { return cause; }
    /** Whether the session ever relayed (it counts against its member's sessions). */
    boolean relayed() { return traffic != null; }

    @Override
    public String toString() {
        MemberAddress m = member;
        return "session#" + id + " " + client.remoteAddress() + " -> " + (m == null ? "(no member)" : m.name());
    }
}
