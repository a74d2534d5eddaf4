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
import io.netty.resolver.AddressResolverGroup;
import io.patroxy.config.MemberAddress;
import io.patroxy.pgwire.FirstMessage;
import io.patroxy.config.ProxySettings;

/**
 * Server connections over Netty: one Bootstrap template, cloned onto the client's event loop per
 * connection (one session, one event loop: no locks below). Member host names are resolved by
 * Netty's asynchronous DNS resolver ({@link Transport#resolver()}), never by the JDK's blocking
 * lookup: a slow resolver during an incident must not stall the other sessions of a loop.
 */
final class NettyConnector implements Connector {

    private static final Logger LOG = Logger.getLogger(NettyConnector.class);

    private final Bootstrap template;
    private final long idleMillis;

    NettyConnector(Transport transport, ProxySettings settings) {
        this(transport.channel(), transport.resolver(), settings);
    }

    NettyConnector(Class<? extends Channel> channelType, AddressResolverGroup<?> resolver, ProxySettings settings) {
        long idleMillis = settings.serverTimeout().toMillis();
        this.template = new Bootstrap()
                .channel(channelType)
                .resolver(resolver)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) settings.connectTimeout().toMillis())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, ProxyServer.WATER_MARK)
                .handler(new ChannelInboundHandlerAdapter()); // replaced per connection
        this.idleMillis = idleMillis;
    }

    @Override
    public ChannelFuture connect(Channel client, MemberAddress member, ChannelHandler handler) {
        return template.clone(client.eventLoop())
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, idleMillis, TimeUnit.MILLISECONDS));
                        ch.pipeline().addLast("handshake", handler);
                    }
                })
                .connect(member.host(), member.pgPort());
    }

    /** Passes a CancelRequest to {@code member} on a connection of its own, which closes once it is sent. */
    static void cancel(Connector connector, Channel client, MemberAddress member, FirstMessage.CancelRequest cancel) {
        ByteBuf request = client.alloc().buffer(16).writeInt(16).writeInt(FirstMessage.CANCEL_REQUEST)
                .writeInt(cancel.pid()).writeInt(cancel.secret());
        connector.connect(client, member, new ChannelInboundHandlerAdapter()).addListener((ChannelFuture f) -> {
            if (f.isSuccess()) {
                f.channel().writeAndFlush(request).addListener(ChannelFutureListener.CLOSE);
            } else {
                request.release();
                LOG.debugf("cancel request for %s not delivered: %s", member.name(), f.cause().getMessage());
            }
        });
    }
}
