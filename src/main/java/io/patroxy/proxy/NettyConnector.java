package io.patroxy.proxy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelPromise;
import io.netty.channel.ReflectiveChannelFactory;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.patroxy.config.MemberAddress;
import io.patroxy.pgwire.FirstMessage;
import io.patroxy.config.ProxySettings;

/**
 * Server connections over Netty, on the client's event loop (one session, one event loop: no locks
 * below). A member given by IP address — the usual case — is connected directly: a new channel with
 * the template's options and its final pipeline, registered and connected in the same turn, with
 * no Bootstrap copied, no initializer added and removed, and no resolver (docs/performance.md).
 * A member given by host name goes through the Bootstrap template and Netty's asynchronous DNS
 * resolver ({@link Transport#resolver()}), never the JDK's blocking lookup: a slow resolver during
 * an incident must not stall the other sessions of a loop.
 */
final class NettyConnector implements Connector {

    private static final Logger LOG = Logger.getLogger(NettyConnector.class);

    private final Bootstrap template;
    private final ChannelFactory<? extends Channel> channels;
    private final Map<ChannelOption<?>, Object> options;
    private final long idleMillis;
    /**
     * Each member host's IP address when it is an IP literal, or empty for a host name; worked out once per host,
     * keyed by the host's text (a String's hash is cached; a record's is computed on every connect).
     */
    private final Map<String, Optional<InetAddress>> literals = new ConcurrentHashMap<>();

    NettyConnector(Transport transport, ProxySettings settings) {
        this(transport.channel(), transport.resolver(), settings);
    }

    NettyConnector(Class<? extends Channel> channelType, AddressResolverGroup<?> resolver, ProxySettings settings) {
        this.idleMillis = settings.serverTimeout().toMillis();
        Map<ChannelOption<?>, Object> o = new LinkedHashMap<>();
        o.put(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) settings.connectTimeout().toMillis());
        o.put(ChannelOption.AUTO_READ, false);
        o.put(ChannelOption.ALLOW_HALF_CLOSURE, true);
        o.put(ChannelOption.TCP_NODELAY, true);
        o.put(ChannelOption.SO_KEEPALIVE, true);
        o.put(ChannelOption.WRITE_BUFFER_WATER_MARK, ProxyServer.WATER_MARK);
        this.options = Map.copyOf(o);
        this.channels = new ReflectiveChannelFactory<>(channelType);
        Bootstrap b = new Bootstrap().channelFactory(channels).resolver(resolver)
                .handler(new ChannelInboundHandlerAdapter()); // replaced per connection
        o.forEach((k, v) -> option(b, k, v));
        this.template = b;
    }

    @SuppressWarnings("unchecked")
    private static <T> void option(Bootstrap b, ChannelOption<T> option, Object value) {
        b.option(option, (T) value);
    }

    @Override
    public ChannelFuture connect(Channel client, MemberAddress member, ChannelHandler handler) {
        InetSocketAddress literal = literal(member);
        if (literal == null) {
            return template.clone(client.eventLoop())
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            pipeline(ch, handler);
                        }
                    })
                    .connect(member.host(), member.pgPort());
        }
        Channel ch = channels.newChannel();
        try {
            ch.config().setOptions(options);
            pipeline(ch, handler);
        } catch (RuntimeException e) {
            ch.unsafe().closeForcibly();
            return new DefaultChannelPromise(ch, GlobalEventExecutor.INSTANCE).setFailure(e); // not registered: no loop of its own
        }
        ChannelPromise connected = ch.newPromise();
        ChannelFuture registered = client.eventLoop().register(ch);
        if (registered.isDone()) { // on the loop (always, from a session): connect in this same turn
            connectRegistered(registered, literal, connected);
        } else {
            registered.addListener((ChannelFuture f) -> connectRegistered(f, literal, connected));
        }
        return connected;
    }

    /** The server channel's pipeline: the server timeout, then the session's handler. */
    private void pipeline(Channel ch, ChannelHandler handler) {
        ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, idleMillis, TimeUnit.MILLISECONDS));
        ch.pipeline().addLast("handshake", handler);
    }

    private static void connectRegistered(ChannelFuture registered, InetSocketAddress address, ChannelPromise connected) {
        Channel ch = registered.channel();
        if (!registered.isSuccess()) {
            if (ch.isRegistered()) {
                ch.close();
            } else {
                ch.unsafe().closeForcibly();
            }
            connected.setFailure(registered.cause());
            return;
        }
        ch.connect(address, connected).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }

    /** The member's address when its host is an IP literal (no lookup needed), else null. */
    InetSocketAddress literal(MemberAddress member) {
        InetAddress ip = literals.computeIfAbsent(member.host(), h -> Optional.ofNullable(NetUtil.createInetAddressFromIpAddressString(h)))
                .orElse(null);
        return ip == null ? null : new InetSocketAddress(ip, member.pgPort()); // a host name: resolved asynchronously on every connect
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
