package io.patroxy.proxy;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsServerAddressStreamProvider;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;

/**
 * Native epoll when the platform has it, NIO otherwise; and Netty's asynchronous DNS resolver
 * (the system's name servers and /etc/hosts), so no name is ever resolved blocking on an event loop.
 *
 * <p>The acceptor is the workers' group itself: a listener is registered on one of the event loops,
 * so with one loop a new client is accepted and its session set up on the same thread, without a
 * hand-off (and wake-up) per connection; and there is no acceptor thread (docs/performance.md).
 */
public record Transport(String name, EventLoopGroup acceptor, EventLoopGroup workers,
        Class<? extends ServerChannel> serverChannel, Class<? extends Channel> channel,
        AddressResolverGroup<?> resolver) {

    /** Event loops when {@code patroxy.event-loops} is 0: see {@link #defaultThreads(int)}. */
    public static int defaultThreads() {
        return defaultThreads(Runtime.getRuntime().availableProcessors());
    }

    /**
     * Half the cores, at least one. PostgreSQL and the clients usually share the machine (or the
     * node) and do most of the work of a transaction; on 2 cores one loop relayed more for less CPU
     * than two (docs/performance.md).
     */
    static int defaultThreads(int cores) {
        return Math.max(1, cores / 2);
    }

    /** Stops the event loops, waiting for them. */
    public void shutdown() {
        workers.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly(); // the acceptor too
    }

    public static Transport create(int workerThreads) {
        return create(workerThreads, DnsServerAddressStreamProviders.platformDefault());
    }

    static Transport create(int workerThreads, DnsServerAddressStreamProvider nameServers) {
        if (Epoll.isAvailable()) {
            EventLoopGroup loops = new EpollEventLoopGroup(workerThreads);
            return new Transport("epoll", loops, loops,
                    EpollServerSocketChannel.class, EpollSocketChannel.class, resolver(EpollDatagramChannel.class, nameServers));
        }
        EventLoopGroup loops = new NioEventLoopGroup(workerThreads);
        return new Transport("nio", loops, loops,
                NioServerSocketChannel.class, NioSocketChannel.class, resolver(NioDatagramChannel.class, nameServers));
    }

    static AddressResolverGroup<?> resolver(Class<? extends DatagramChannel> datagram, DnsServerAddressStreamProvider nameServers) {
        return new DnsAddressResolverGroup(new DnsNameResolverBuilder()
                .channelType(datagram)
                .nameServerProvider(nameServers));
    }
}
