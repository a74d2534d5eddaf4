package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider;
import io.patroxy.config.MemberAddress;
import io.patroxy.config.ProxySettings;

/**
 * Issue 9, failure 8: a member's host name is resolved without blocking the event loop. A name
 * server that never answers stands in for a slow resolver during an incident: while the name is
 * being looked up, the same (single) loop keeps running other sessions' work.
 */
class AsyncDnsTest {

    @Test
    void aResolverThatNeverAnswersDoesNotStallTheEventLoop() throws Exception {
        NioEventLoopGroup loop = new NioEventLoopGroup(1);
        try (DatagramSocket silentDns = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            var nameServers = new SequentialDnsServerAddressStreamProvider(
                    (InetSocketAddress) silentDns.getLocalSocketAddress());
            ProxySettings settings = ProxyFixture.settings();
            NettyConnector connector = new NettyConnector(NioSocketChannel.class,
                    Transport.resolver(NioDatagramChannel.class, nameServers), settings);
            io.netty.channel.Channel client = new NioSocketChannel();
            loop.register(client).sync();

            CompletableFuture<ChannelFuture> connecting = new CompletableFuture<>();
            client.eventLoop().execute(() -> connecting.complete(connector.connect(client,
                    new MemberAddress("slow", "member.slow-resolver.patroxy.test", 5432, 8008), new ChannelInboundHandlerAdapter())));
            ChannelFuture f = connecting.get(2, TimeUnit.SECONDS);

            long start = System.nanoTime();
            CompletableFuture<Long> other = new CompletableFuture<>();
            client.eventLoop().execute(() -> other.complete(System.nanoTime() - start));
            long waited = other.get(2, TimeUnit.SECONDS);
            assertThat(Duration.ofNanos(waited)).as("another session's task ran while the name was being looked up")
                    .isLessThan(Duration.ofMillis(500));
            assertThat(f.isDone()).as("the lookup is still waiting for the silent name server").isFalse();
            client.close().sync();
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
