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
import io.patroxy.cluster.MemberView;
import io.patroxy.config.MemberAddress;
import io.patroxy.pgwire.ErrorResponse;
import io.patroxy.pgwire.FirstMessage;
import io.patroxy.pgwire.ServerFraming;

/**
 * A client connection until it is relayed: reads the client's first message within PostgreSQL's
 * bounds, answers or relays encryption requests, routes cancel requests, holds the client while
 * no leader is known, connects to the leader on the client's own event loop, and retries the
 * kept StartupMessage on the leader when a server fails it before authentication. Then it hands
 * both pipelines over to {@link RelayHandler}s.
 *
 * <pre>
 * FIRST ──SSL/GSS, leader known──▶ NEGOTIATING ──'N'──▶ STARTUP ──▶ AWAIT_FIRST ──▶ relay (plain)
 *   │                                    └──'S'/'G'──▶ relay (opaque)
 *   ├──SSL/GSS, no leader: answer 'N'──▶ STARTUP ──▶ (HOLDING) ──▶ CONNECTING ──▶ AWAIT_FIRST
 *   ├──Startup──▶ (HOLDING) ──▶ CONNECTING ──▶ AWAIT_FIRST ──57P01/57P03, reset──▶ CONNECTING again
 *   └──Cancel──▶ to the member of the cancelled session, or dropped
 * </pre>
 * Nothing is read from the client while a server is being found (AUTO_READ is off; reads are asked
 * for one at a time), so at most one bounded first message is ever buffered.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = Logger.getLogger(FrontendHandler.class);
    /** Pause before trying the leader again after a failed connect or handshake. */
    static final long RETRY_DELAY_MILLIS = 250;
    /** How long a client refused for maxconn may take to send its startup packet and read why. */
    static final long REFUSED_CLIENT_GRACE_SECONDS = 5;
    /** Most a server's first message may take before it is passed on unexamined. */
    static final int MAX_FIRST_SERVER_MESSAGE = 16 * 1024;

    private enum Phase { FIRST, STARTUP, HOLDING, CONNECTING, NEGOTIATING, AWAIT_FIRST, DONE }

    private final ProxyContext px;
    private ChannelHandlerContext ctx;
    private Session session;
    private Phase phase = Phase.FIRST;
    private ByteBuf clientIn;
    private ByteBuf serverIn;
    private FirstMessage.Startup startup;
    private int encryptionRequest;
    private Channel server;
    private MemberAddress member;
    private long deadlineNanos;
    private int attempts;
    private boolean clientInputClosed;
    private ScheduledFuture<?> timer;
    private final Runnable wake = () -> ctx.executor().execute(this::onLeaderKnown);

    FrontendHandler(ProxyContext px) {
        this.px = px;
    }

    // ---------------------------------------------------------------- client side

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        clientIn = ctx.alloc().buffer(256);
        session = px.sessions().admit(ctx.channel()); // null: maxconn reached, answered after the startup packet
        deadlineNanos = System.nanoTime() + px.settings().holdTimeout().toNanos();
        if (session == null) {
            // not a session: it may not linger past maxconn waiting to be told so
            timer = ctx.executor().schedule(() -> quit(CloseCause.MAXCONN), REFUSED_CLIENT_GRACE_SECONDS, TimeUnit.SECONDS);
        }
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf) || phase == Phase.DONE) {
            ReferenceCountUtil.release(msg);
            return;
        }
        clientIn.writeBytes(buf);
        buf.release();
        if (phase == Phase.FIRST || phase == Phase.STARTUP) {
            onClientBytes();
        } else if (clientIn.readableBytes() > FirstMessage.MAX_LENGTH) {
            refuse(CloseCause.PROTOCOL_ERROR, ErrorResponse.PROTOCOL_VIOLATION, "client sent data before the server answered");
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (phase == Phase.FIRST || phase == Phase.STARTUP) {
            ctx.read(); // still waiting for the rest of the first message
        }
    }

    private void onClientBytes() {
        FirstMessage m = FirstMessage.read(clientIn);
        if (m == null) {
            return;
        }
        if (m instanceof FirstMessage.Malformed bad) {
            refuse(CloseCause.PROTOCOL_ERROR, ErrorResponse.PROTOCOL_VIOLATION, bad.reason());
        } else if (m instanceof FirstMessage.CancelRequest cancel) {
            forwardCancel(cancel);
        } else if (m instanceof FirstMessage.EncryptionRequest enc) {
            MemberView leader = px.view().get().leader();
            if (phase == Phase.FIRST && session != null && leader != null) {
                phase = Phase.CONNECTING; // relay the request: end-to-end TLS stays the server's business
                encryptionRequest = enc.gss() ? FirstMessage.GSSENC_REQUEST : FirstMessage.SSL_REQUEST;
                clientIn.discardReadBytes();
                connect(leader.address());
            } else {
                // no leader (or refusing anyway): decline encryption ourselves, then read the StartupMessage
                phase = Phase.STARTUP;
                clientIn.discardReadBytes();
                ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'N'}));
                onClientBytes();
            }
        } else {
            startup = (FirstMessage.Startup) m;
            clientIn.discardReadBytes();
            if (session == null) {
                refuse(CloseCause.MAXCONN, ErrorResponse.TOO_MANY_CONNECTIONS,
                        "sorry, too many clients already: Patroxy's maxconn of " + px.settings().maxconn() + " is reached");
            } else if (server != null) {
                phase = Phase.AWAIT_FIRST; // after the server declined encryption on this connection
                sendStartup();
            } else {
                route();
            }
        }
    }

    // ---------------------------------------------------------------- routing and the hold

    /** Connects to the leader, or waits for one within the hold. */
    private void route() {
        if (phase == Phase.DONE) {
            return;
        }
        MemberView leader = px.view().get().leader();
        if (leader != null) {
            phase = Phase.CONNECTING;
            connect(leader.address());
            return;
        }
        hold(false);
    }

    /** Waits for a leader (or, with {@code retrySoon}, retries shortly) until the hold's deadline. */
    private void hold(boolean retrySoon) {
        long left = deadlineNanos - System.nanoTime();
        boolean retriesLeft = retrySoon && attempts <= px.settings().retries();
        if (left <= 0 && !retriesLeft) {
            giveUp();
            return;
        }
        if (phase != Phase.HOLDING) {
            if (!px.holds().offer(wake)) {
                refuse(CloseCause.NO_LEADER, ErrorResponse.CANNOT_CONNECT_NOW, noLeaderMessage() + "; and "
                        + px.settings().holdQueue() + " clients are already waiting");
                return;
            }
            if (attempts == 0) {
                px.sessions().countHeld();
            }
            phase = Phase.HOLDING;
        }
        long delay = retrySoon ? TimeUnit.MILLISECONDS.toNanos(RETRY_DELAY_MILLIS) : left;
        cancelTimer();
        timer = ctx.executor().schedule(retrySoon ? this::onLeaderKnown : this::giveUp, delay, TimeUnit.NANOSECONDS);
    }

    private void onLeaderKnown() {
        if (phase != Phase.HOLDING) {
            return;
        }
        if (px.view().get().leader() == null) {
            hold(false);
            return;
        }
        px.holds().remove(wake);
        cancelTimer();
        phase = Phase.FIRST; // any non-HOLDING phase: route() decides
        route();
    }

    private void giveUp() {
        px.holds().remove(wake);
        ClusterView view = px.view().get();
        if (view.leader() == null) {
            refuse(CloseCause.NO_LEADER, ErrorResponse.CANNOT_CONNECT_NOW, noLeaderMessage());
        } else {
            MemberAddress m = view.leader().address();
            refuse(CloseCause.CONNECT_FAILED, ErrorResponse.CONNECTION_FAILURE, "could not connect to leader " + m.name()
                    + " at " + m.host() + ":" + m.pgPort() + " within Patroxy's hold of " + px.settings().holdTimeout()
                    .toSeconds() + " s");
        }
    }

    private String noLeaderMessage() {
        return px.view().get().noLeaderMessage();
    }

    // ---------------------------------------------------------------- the server connection

    private void connect(MemberAddress target) {
        attempts++;
        member = target;
        Channel client = ctx.channel();
        Upstream.connect(px, client, target, new ServerHandshake(this)).addListener((ChannelFuture f) -> {
            if (phase == Phase.DONE || session.isClosed()) {
                f.channel().close(); // the client left while we were connecting
                return;
            }
            if (!f.isSuccess()) {
                px.sessions().connectFailed(target);
                LOG.debugf("%s: connect to %s failed (%s), attempt %d", session, target.name(), f.cause().getMessage(), attempts);
                retryLater("connect to " + target.name() + " failed: " + f.cause().getMessage());
                return;
            }
            server = f.channel();
            px.sessions().register(session, server, target);
            session.handshakeDrop(this::abandonServer);
            if (!target.name().equals(px.view().get().leaderName().orElse(null))) {
                abandonServer(); // the leader moved while we connected
                return;
            }
            if (startup == null) {
                phase = Phase.NEGOTIATING; // pass on the client's SSLRequest / GSSENCRequest
                server.writeAndFlush(server.alloc().buffer(8).writeInt(8).writeInt(encryptionRequest));
            } else {
                phase = Phase.AWAIT_FIRST;
                sendStartup();
            }
            server.read();
        });
    }

    private void sendStartup() {
        serverIn = ctx.alloc().buffer(256);
        server.writeAndFlush(Unpooled.wrappedBuffer(startup.packet()));
        server.read();
    }

    /** Retries within the hold (or the retries when there is no hold), else refuses. */
    private void retryLater(String why) {
        if (startup == null) {
            // an encryption request still waits for its answer, and clients do not wait long for it
            // (pgjdbc gives up after 5 s): answer 'N' ourselves, as with no leader, and hold the
            // StartupMessage that follows instead
            ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'N'}));
            phase = Phase.STARTUP;
            ctx.read();
            return;
        }
        if (attempts > px.settings().retries() && System.nanoTime() >= deadlineNanos) {
            LOG.warnf("%s: giving up after %d attempts: %s", session, attempts, why);
        }
        hold(true);
    }

    /**
     * Drops the server connection of a handshake that cannot go on there (it died, or its member
     * went down or lost the lead) and carries on without it: nothing the client sent so far is lost.
     */
    private void abandonServer() {
        if (phase == Phase.DONE || server == null) {
            return;
        }
        Channel s = server;
        server = null;
        s.pipeline().remove("handshake");
        s.close();
        px.sessions().unregister(session);
        session.handshakeDrop(null);
        if (serverIn != null) {
            serverIn.release();
            serverIn = null;
        }
        switch (phase) {
            case NEGOTIATING -> {
                // the encryption request got no answer: give Patroxy's own, as when no leader is known
                ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'N'}));
                phase = Phase.STARTUP;
                ctx.read();
            }
            case STARTUP -> {
                // waiting for the StartupMessage: it will be routed afresh when it comes
            }
            default -> retryLater("handshake with " + (member == null ? "?" : member.name()) + " failed");
        }
    }

    /** Bytes from the server during the handshake (see {@link ServerHandshake}). */
    void onServerBytes(Channel from, ByteBuf buf) {
        if (from != server) {
            buf.release(); // an abandoned server
            return;
        }
        if (phase == Phase.NEGOTIATING) {
            byte answer = buf.getByte(buf.readerIndex());
            if (answer == 'S' || answer == 'G') {
                startRelay(buf, null); // encrypted: relayed opaquely from here on
            } else if (answer == 'N') {
                buf.skipBytes(1);
                ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'N'}));
                buf.release();
                phase = Phase.STARTUP;
                ctx.read(); // the client's StartupMessage (or another request) comes next, in the clear
            } else {
                startRelay(buf, new ServerFraming()); // an error instead of an answer: pass it on
            }
            return;
        }
        serverIn.writeBytes(buf);
        buf.release();
        String state = ServerFraming.firstMessageError(serverIn, MAX_FIRST_SERVER_MESSAGE);
        if (state == null) {
            server.read();
            return;
        }
        if ((state.equals(ErrorResponse.CANNOT_CONNECT_NOW) || state.equals(ErrorResponse.ADMIN_SHUTDOWN))
                && System.nanoTime() < deadlineNanos) {
            LOG.debugf("%s: %s answered %s before authentication; retrying on the leader", session, member.name(), state);
            abandonServer();
            return;
        }
        ByteBuf first = serverIn;
        serverIn = null;
        startRelay(first, new ServerFraming());
    }

    /** The server channel ended or failed during the handshake. */
    void onServerGone(Channel from) {
        if (from != server) {
            return;
        }
        if (phase == Phase.AWAIT_FIRST || phase == Phase.NEGOTIATING || phase == Phase.STARTUP) {
            abandonServer(); // reset or closed before the client's session began there: go on elsewhere
        }
    }

    private void startRelay(ByteBuf firstServerBytes, ServerFraming framing) {
        phase = Phase.DONE;
        cancelTimer();
        Channel client = ctx.channel();
        session.relaying(framing);
        session.countRelayed(true, (encryptionRequest != 0 ? 8 : 0) + (startup != null ? startup.packet().length : 0));
        session.serverBytes(firstServerBytes);
        session.countRelayed(false, firstServerBytes.readableBytes());
        client.writeAndFlush(firstServerBytes);
        if (clientIn.isReadable()) {
            session.countRelayed(true, clientIn.readableBytes());
            server.writeAndFlush(clientIn.retainedSlice());
        }
        server.pipeline().replace("handshake", "relay", new RelayHandler(session, false));
        ctx.pipeline().replace(this, "relay", new RelayHandler(session, true));
        if (clientInputClosed) {
            session.inputClosed(true);
        }
        client.config().setAutoRead(true);
        server.config().setAutoRead(true);
    }

    // ---------------------------------------------------------------- endings

    /** Answers the client with a FATAL ErrorResponse and closes. */
    private void refuse(CloseCause cause, String sqlState, String message) {
        if (phase == Phase.DONE) {
            return;
        }
        phase = Phase.DONE;
        cancelTimer();
        px.holds().remove(wake);
        LOG.infof("refused %s: %s (%s)", ctx.channel().remoteAddress(), message, cause.label());
        ByteBuf error = ErrorResponse.fatal(ctx.alloc(), sqlState, message);
        if (session == null) {
            px.sessions().refusedMaxconn();
            ctx.writeAndFlush(error).addListener(ChannelFutureListener.CLOSE);
        } else {
            session.closeWith(cause, error);
        }
    }

    private void forwardCancel(FirstMessage.CancelRequest cancel) {
        phase = Phase.DONE;
        MemberAddress target = px.sessions().cancelKeys().lookup(cancel.pid(), cancel.secret());
        if (target != null) {
            Upstream.cancel(px, ctx.channel(), target, cancel); // only ever to the cancelled session's member
        } else {
            LOG.debugf("cancel request for an unknown or finished session dropped");
        }
        if (session != null) {
            session.close(CloseCause.CANCEL_REQUEST);
        } else {
            ctx.close();
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (phase != Phase.DONE) {
            quit(CloseCause.CLIENT_CLOSED);
        } else if (session != null) {
            session.channelClosed(true);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (clientIn != null) {
            clientIn.release();
            clientIn = null;
        }
        if (serverIn != null) {
            serverIn.release();
            serverIn = null;
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            clientInputClosed = true; // passed on once relaying
            if (phase == Phase.FIRST || phase == Phase.STARTUP || phase == Phase.HOLDING) {
                quit(CloseCause.CLIENT_CLOSED); // it gave up before it had a server
            }
        } else if (evt instanceof IdleStateEvent) {
            if (session != null) {
                session.close(CloseCause.CLIENT_TIMEOUT);
            } else {
                ctx.close();
            }
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        quit(CloseCause.CLIENT_ERROR);
    }

    /** Ends a client that has no server yet, saying nothing. */
    private void quit(CloseCause cause) {
        boolean wasDone = phase == Phase.DONE;
        phase = Phase.DONE;
        cancelTimer();
        px.holds().remove(wake);
        if (server != null) {
            server.close();
        }
        if (session != null) {
            session.close(cause);
        } else {
            if (!wasDone) {
                px.sessions().refusedMaxconn(); // turned away before it even sent its startup packet
            }
            ctx.close();
        }
    }
}
