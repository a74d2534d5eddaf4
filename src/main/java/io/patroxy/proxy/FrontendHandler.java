package io.patroxy.proxy;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
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
    private Session session;

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
            ctx.pipeline().replace(this, "relay", new RelayHandler(session, true));
            client.config().setAutoRead(true);
            f.channel().config().setAutoRead(true);
        });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg); // not reached with AUTO_READ off; never leak if it is
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (session != null) {
            session.channelClosed(true);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && session != null) {
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
