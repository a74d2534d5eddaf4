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
 */
public record Transport(String name, EventLoopGroup acceptor, EventLoopGroup workers,
        Class<? extends ServerChannel> serverChannel, Class<? extends Channel> channel,
        AddressResolverGroup<?> resolver) {

    /** Event loops: one per core, at least two. */
    public static int defaultThreads() {
        return Math.max(2, Runtime.getRuntime().availableProcessors());
    }

    /** Stops the event loops, waiting for them. */
    public void shutdown() {
        acceptor.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    public static Transport create(int workerThreads) {
        return create(workerThreads, DnsServerAddressStreamProviders.platformDefault());
    }

    static Transport create(int workerThreads, DnsServerAddressStreamProvider nameServers) {
        if (Epoll.isAvailable()) {
            return new Transport("epoll", new EpollEventLoopGroup(1), new EpollEventLoopGroup(workerThreads),
                    EpollServerSocketChannel.class, EpollSocketChannel.class, resolver(EpollDatagramChannel.class, nameServers));
        }
        return new Transport("nio", new NioEventLoopGroup(1), new NioEventLoopGroup(workerThreads),
                NioServerSocketChannel.class, NioSocketChannel.class, resolver(NioDatagramChannel.class, nameServers));
    }

    static AddressResolverGroup<?> resolver(Class<? extends DatagramChannel> datagram, DnsServerAddressStreamProvider nameServers) {
        return new DnsAddressResolverGroup(new DnsNameResolverBuilder()
                .channelType(datagram)
                .nameServerProvider(nameServers));
    }
}
