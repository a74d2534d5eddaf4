package io.patroxy.proxy;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/** Native epoll when the platform has it, NIO otherwise. */
record Transport(String name, EventLoopGroup acceptor, EventLoopGroup workers,
        Class<? extends ServerChannel> serverChannel, Class<? extends Channel> channel) {

    static Transport create(int workerThreads) {
        if (Epoll.isAvailable()) {
            return new Transport("epoll", new EpollEventLoopGroup(1), new EpollEventLoopGroup(workerThreads),
                    EpollServerSocketChannel.class, EpollSocketChannel.class);
        }
        return new Transport("nio", new NioEventLoopGroup(1), new NioEventLoopGroup(workerThreads),
                NioServerSocketChannel.class, NioSocketChannel.class);
    }
}
