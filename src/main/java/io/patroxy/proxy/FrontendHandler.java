package io.patroxy.proxy;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.patroxy.cluster.ClusterView;
import io.patroxy.cluster.MemberView;
import io.patroxy.config.MemberAddress;

/**
 * The first handler of a client connection: admits it (maxconn), picks the leader from the
 * current snapshot, connects to it on the client's own event loop (retrying), then hands the
 * pipeline over to a {@link RelayHandler}. The client is not read until the server is connected
 * (AUTO_READ is off), so nothing is buffered while connecting.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = Logger.getLogger(FrontendHandler.class);
    /** Pause before trying the leader again after a failed connect (HAProxy waits too before a retry). */
    static final long RETRY_DELAY_MILLIS = 250;

    private final ProxySettings settings;
    private final Supplier<ClusterView> view;
    private final SessionRegistry registry;
    private final Transport transport;
    /** Most a client may send before its server is connected (normally nothing is read: AUTO_READ is off). */
    static final int MAX_EARLY_BYTES = 1024 * 1024;

    private Session session;
    /**
     * Bytes read before the server was connected. AUTO_READ is off, but when a client sends and
     * then FIN at once, epoll's RDHUP handling still reads what is queued; those bytes must not be lost.
     */
    private final java.util.ArrayDeque<ByteBuf> early = new java.util.ArrayDeque<>();
    private int earlyBytes;
    private boolean clientInputClosed;

    FrontendHandler(ProxySettings settings, Supplier<ClusterView> view, SessionRegistry registry, Transport transport) {
        this.settings = settings;
        this.view = view;
        this.registry = registry;
        this.transport = transport;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        session = registry.admit(ctx.channel());
        if (session == null) {
            LOG.warnf("refused %s: maxconn %d reached", ctx.channel().remoteAddress(), settings.maxconn());
            ctx.close();
            return;
        }
        connect(ctx, 0);
    }

    private void connect(ChannelHandlerContext ctx, int attempt) {
        if (session.isClosed()) {
            return;
        }
        MemberView leader = view.get().leader();
        if (leader == null) {
            session.close(CloseCause.NO_LEADER);
            return;
        }
        MemberAddress member = leader.address();
        Channel client = ctx.channel();
        Bootstrap bootstrap = new Bootstrap()
                .group(client.eventLoop()) // one session, one event loop: no locks anywhere below
                .channel(transport.channel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) settings.connectTimeout().toMillis())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, ProxyServer.WATER_MARK)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(
                                new IdleStateHandler(0, 0, settings.serverTimeout().toMillis(), TimeUnit.MILLISECONDS),
                                new RelayHandler(session, false));
                    }
                });
        bootstrap.connect(member.host(), member.pgPort()).addListener((ChannelFuture f) -> {
            if (session.isClosed()) {
                f.channel().close(); // the client left while we were connecting
                return;
            }
            if (!f.isSuccess()) {
                registry.connectFailed(member);
                if (attempt < settings.retries()) {
                    LOG.debugf("%s: connect to %s failed (%s), retry %d of %d", session, member.name(),
                            f.cause().getMessage(), attempt + 1, settings.retries());
                    client.eventLoop().schedule(() -> connect(ctx, attempt + 1), RETRY_DELAY_MILLIS, TimeUnit.MILLISECONDS);
                } else {
                    LOG.warnf("%s: cannot connect to leader %s at %s:%d after %d attempts: %s", session, member.name(),
                            member.host(), member.pgPort(), attempt + 1, f.cause().getMessage());
                    session.close(CloseCause.CONNECT_FAILED);
                }
                return;
            }
            registry.register(session, f.channel(), member);
            // the leader may have moved while we connected; registering first means a later move closes us
            if (!member.name().equals(view.get().leaderName().orElse(null))) {
                session.close(CloseCause.LEADER_CHANGED);
                return;
            }
            Channel server = f.channel();
            for (ByteBuf buf; (buf = early.poll()) != null;) {
                session.countRelayed(true, buf.readableBytes());
                server.write(buf, server.voidPromise());
            }
            server.flush();
            ctx.pipeline().replace(this, "relay", new RelayHandler(session, true));
            if (clientInputClosed) {
                session.inputClosed(true);
            }
            client.config().setAutoRead(true);
            server.config().setAutoRead(true);
        });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (session == null || session.isClosed() || !(msg instanceof ByteBuf buf)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        earlyBytes += buf.readableBytes();
        early.add(buf);
        if (earlyBytes > MAX_EARLY_BYTES) {
            session.close(CloseCause.CLIENT_ERROR); // bounded: a client may not stream before we are connected
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (session != null) {
            session.channelClosed(true);
        }
        releaseEarly();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseEarly();
    }

    private void releaseEarly() {
        for (ByteBuf buf; (buf = early.poll()) != null;) {
            buf.release();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            clientInputClosed = true; // passed on once the server is connected
        } else if (evt instanceof IdleStateEvent && session != null) {
            session.close(CloseCause.CLIENT_TIMEOUT);
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (session != null) {
            session.close(CloseCause.CLIENT_ERROR);
        } else {
            ctx.close();
        }
    }
}
