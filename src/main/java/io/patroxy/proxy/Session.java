package io.patroxy.proxy;

import java.time.Instant;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.socket.DuplexChannel;
import io.patroxy.config.MemberAddress;
import io.patroxy.pgwire.ErrorResponse;
import io.patroxy.pgwire.ServerFraming;

/**
 * One client session: a client channel and, once connected, a server channel on the
 * <em>same event loop</em>, so all of its state is confined to that loop and needs no locks.
 * Only {@link #close(CloseCause)} may be called from elsewhere; it hops onto the loop.
 *
 * <p>States: CONNECTING (no server channel yet) → RELAYING → CLOSED (cause set once, first wins).
 */
public final class Session {

    private final long id;
    private final Channel client;
    private final SessionRegistry registry;
    private final CancelKeys cancelKeys;
    private ServerFraming framing;
    private volatile Runnable handshakeDrop;
    private CloseCause pendingDrop;
    private String pendingWhy;

    /** How long a drop waits for the server to finish the message it is in the middle of sending. */
    static final java.time.Duration DROP_BOUNDARY_WAIT = java.time.Duration.ofMillis(500);
    private final Instant started = Instant.now();
    private final long startedNanos = System.nanoTime();
    private Channel server;
    private MemberAddress member;
    private MemberTraffic traffic;
    private long clientToServerBytes;
    private long serverToClientBytes;
    private boolean clientInputClosed;
    private boolean serverInputClosed;
    private CloseCause firstFin;
    private boolean clientTerminated;
    private CloseCause cause;

    Session(long id, Channel client, SessionRegistry registry, CancelKeys cancelKeys) {
        this.id = id;
        this.client = client;
        this.registry = registry;
        this.cancelKeys = cancelKeys;
    }

    public long id() {
        return id;
    }

    public Channel client() {
        return client;
    }

    public Channel server() {
        return server;
    }

    public MemberAddress member() {
        return member;
    }

    public Instant started() {
        return started;
    }

    /** How long the session has lasted, by the monotonic clock. */
    public java.time.Duration elapsed() {
        return java.time.Duration.ofNanos(System.nanoTime() - startedNanos);
    }

    public long clientToServerBytes() {
        return clientToServerBytes;
    }

    public long serverToClientBytes() {
        return serverToClientBytes;
    }

    public CloseCause cause() {
        return cause;
    }

    boolean isClosed() {
        return cause != null;
    }

    /** The server channel is connected to {@code member}: from now on the session counts against it. */
    void attach(Channel server, MemberAddress member, MemberTraffic traffic) {
        this.server = server;
        this.member = member;
        this.traffic = traffic;
    }

    Channel peerOf(boolean fromClient) {
        return fromClient ? server : client;
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

    /**
     * One side sent FIN. Half-close is passed on: the other side's output is shut down once what
     * is queued for it is flushed, and the session ends when both directions are done. The side
     * that sent FIN first is the one that ended the conversation.
     */
    void inputClosed(boolean fromClient) {
        if (firstFin == null) {
            firstFin = fromClient || clientTerminated ? CloseCause.CLIENT_CLOSED : CloseCause.SERVER_CLOSED;
        }
        if (fromClient) {
            clientInputClosed = true;
        } else {
            serverInputClosed = true;
        }
        Channel peer = peerOf(fromClient);
        if (clientInputClosed && serverInputClosed) {
            close(firstFin);
        } else if (peer instanceof DuplexChannel duplex && peer.isActive()) {
            peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> duplex.shutdownOutput());
        } else {
            close(firstFin);
        }
    }

    /** A channel of this session became inactive. */
    void channelClosed(boolean clientSide) {
        if (firstFin == null && !clientSide && clientTerminated) {
            firstFin = CloseCause.CLIENT_CLOSED; // PostgreSQL closes after the client's Terminate: the client ended it
        }
        close(firstFin != null ? firstFin : clientSide ? CloseCause.CLIENT_CLOSED : CloseCause.SERVER_CLOSED);
    }

    /**
     * Notes whether a client chunk ends with a Terminate message ('X', length 4): the server's close
     * that follows is then the normal end the client asked for, not the server's doing.
     */
    void clientBytes(ByteBuf buf) {
        int end = buf.writerIndex();
        clientTerminated = buf.readableBytes() >= 5 && buf.getByte(end - 5) == 'X' && buf.getInt(end - 4) == 4;
    }

    /** Ends the session with {@code cause}; safe from any thread, only the first cause counts. */
    public void close(CloseCause cause) {
        close(cause, null);
    }

    /**
     * Ends the session; for a drop ({@link CloseCause#MEMBER_DOWN}, {@link CloseCause#LEADER_CHANGED})
     * {@code why} is told to the client in a FATAL ErrorResponse at the next message boundary when
     * the session is unencrypted: at once if the server stands between two messages, else once it
     * finishes the message it is sending — or, if it is stuck mid-message for
     * {@link #DROP_BOUNDARY_WAIT}, the close happens then without a word.
     */
    public void close(CloseCause cause, String why) {
        Runnable drop = handshakeDrop;
        if (drop != null && (cause == CloseCause.MEMBER_DOWN || cause == CloseCause.LEADER_CHANGED)) {
            client.eventLoop().execute(drop); // still in the handshake: the frontend tries the new leader instead
            return;
        }
        if (client.eventLoop().inEventLoop()) {
            doClose(cause, why, null);
        } else {
            client.eventLoop().execute(() -> doClose(cause, why, null));
        }
    }

    /** Ends the session after writing {@code farewell} (an ErrorResponse) to the client. On the event loop. */
    void closeWith(CloseCause cause, ByteBuf farewell) {
        doClose(cause, null, farewell);
    }

    private void doClose(CloseCause cause, String why, ByteBuf farewell) {
        if (this.cause != null) {
            if (farewell != null) {
                farewell.release();
            }
            return;
        }
        if (farewell == null && why != null && framing != null && !framing.atBoundary() && client.isActive()
                && server != null && server.isActive()) {
            if (pendingDrop == null) {
                // mid-message: let the server finish the message it is sending, then say why; a stuck
                // server gets no such grace beyond DROP_BOUNDARY_WAIT
                pendingDrop = cause;
                pendingWhy = why;
                client.config().setAutoRead(false);
                client.eventLoop().schedule(() -> doClose(cause, null, null), DROP_BOUNDARY_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            }
            return;
        }
        this.cause = cause;
        if (farewell == null && why != null && framing != null && framing.atBoundary() && client.isActive()) {
            farewell = ErrorResponse.fatal(client.alloc(), ErrorResponse.ADMIN_SHUTDOWN,
                    "terminating connection because " + why);
        }
        if (farewell != null && client.isActive()) {
            client.writeAndFlush(farewell).addListener(ChannelFutureListener.CLOSE);
        } else {
            if (farewell != null) {
                farewell.release();
            }
            closeChannel(client, cause);
        }
        closeChannel(server, cause);
        if (framing != null && framing.keySeen()) {
            cancelKeys.remove(framing.backendPid(), framing.backendSecret());
        }
        registry.finished(this);
    }

    /** While set, a drop of the session's member re-routes the handshake instead of ending the session. */
    void handshakeDrop(Runnable drop) {
        this.handshakeDrop = drop;
    }

    /** Relaying has begun; {@code framing} is null for an encrypted (opaque) session. */
    void relaying(ServerFraming framing) {
        this.handshakeDrop = null;
        this.framing = framing;
    }

    /** A server chunk was passed on: a drop that waited for the end of a message can happen now. */
    void serverChunkRelayed() {
        if (pendingDrop != null && framing.atBoundary()) {
            doClose(pendingDrop, pendingWhy, null);
        }
    }

    /** Follows the server's framing of a chunk about to be relayed; registers the cancel key once seen. */
    void serverBytes(ByteBuf buf) {
        if (framing == null) {
            return;
        }
        boolean hadKey = framing.keySeen();
        framing.consume(buf);
        if (!hadKey && framing.keySeen()) {
            cancelKeys.register(framing.backendPid(), framing.backendSecret(), member);
        }
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

    @Override
    public String toString() {
        return "session#" + id + " " + client.remoteAddress() + " -> " + (member == null ? "(connecting)" : member.name());
    }
}
