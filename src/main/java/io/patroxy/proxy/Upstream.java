package io.patroxy.proxy;

import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.timeout.IdleStateHandler;
import io.patroxy.config.MemberAddress;
import io.patroxy.pgwire.FirstMessage;

/** Connections from Patroxy to a member's PostgreSQL, always on the client's own event loop. */
final class Upstream {

    private static final Logger LOG = Logger.getLogger(Upstream.class);

    private Upstream() {
    }

    /**
     * Connects a session's server channel: AUTO_READ off until relaying starts, half-close allowed,
     * TCP_NODELAY and keepalive, the server idle timeout, then {@code handler}.
     */
    static ChannelFuture connect(ProxyContext px, Channel client, MemberAddress member, ChannelHandler handler) {
        return bootstrap(px, client)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, ProxyServer.WATER_MARK)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("idle",
                                new IdleStateHandler(0, 0, px.settings().serverTimeout().toMillis(), TimeUnit.MILLISECONDS));
                        ch.pipeline().addLast("handshake", handler);
                    }
                })
                .connect(member.host(), member.pgPort());
    }

    /** Passes a CancelRequest to {@code member} on a connection of its own, which closes once it is sent. */
    static void cancel(ProxyContext px, Channel client, MemberAddress member, FirstMessage.CancelRequest cancel) {
        ByteBuf request = client.alloc().buffer(16).writeInt(16).writeInt(FirstMessage.CANCEL_REQUEST)
                .writeInt(cancel.pid()).writeInt(cancel.secret());
        bootstrap(px, client).handler(new ChannelInboundHandlerAdapter())
                .connect(member.host(), member.pgPort()).addListener((ChannelFuture f) -> {
                    if (f.isSuccess()) {
                        f.channel().writeAndFlush(request).addListener(ChannelFutureListener.CLOSE);
                    } else {
                        request.release();
                        LOG.debugf("cancel request for %s not delivered: %s", member.name(), f.cause().getMessage());
                    }
                });
    }

    private static Bootstrap bootstrap(ProxyContext px, Channel client) {
        return new Bootstrap()
                .group(client.eventLoop()) // one session, one event loop: no locks anywhere below
                .channel(px.transport().channel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) px.settings().connectTimeout().toMillis());
    }
}
