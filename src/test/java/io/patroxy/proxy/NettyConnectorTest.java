package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import io.netty.util.concurrent.Future;
import io.patroxy.config.MemberAddress;

/**
 * The direct path for members given by IP address (no Bootstrap, no initializer, no resolver):
 * the server channel comes out as the Bootstrap template would make it — the same options, the
 * pipeline "idle" then "handshake" — and a refused connect fails the future and closes the channel.
 */
class NettyConnectorTest {

    private final NioEventLoopGroup loop = new NioEventLoopGroup(1);
    private final NettyConnector connector = new NettyConnector(NioSocketChannel.class,
            Transport.resolver(NioDatagramChannel.class, DnsServerAddressStreamProviders.platformDefault()),
            ProxyFixture.settings());

    @AfterEach
    void stop() throws InterruptedException {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    /** Connects from a client channel's event loop, as a session does. */
    private ChannelFuture connect(MemberAddress member) throws Exception {
        Channel client = new NioSocketChannel();
        loop.register(client).sync();
        CompletableFuture<ChannelFuture> f = new CompletableFuture<>();
        client.eventLoop().execute(() -> f.complete(connector.connect(client, member, new ChannelInboundHandlerAdapter())));
        ChannelFuture connecting = f.get(2, TimeUnit.SECONDS);
        assertThat(connecting.channel().eventLoop()).as("the client's loop").isSameAs(client.eventLoop());
        assertThat(connecting.await(5, TimeUnit.SECONDS)).isTrue();
        return connecting;
    }

    @Test
    void aMemberGivenByIpAddressIsConnectedWithTheTemplatesOptionsAndPipeline() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            ChannelFuture f = connect(new MemberAddress("m", "127.0.0.1", server.getLocalPort(), 8008));
            assertThat(f.isSuccess()).as("connected: %s", f.cause()).isTrue();
            try (Socket accepted = server.accept()) {
                Channel ch = f.channel();
                assertThat(((InetSocketAddress) ch.remoteAddress()).getPort()).isEqualTo(server.getLocalPort());
                assertThat(ch.pipeline().names()).startsWith("idle", "handshake");
                assertThat(ch.config().isAutoRead()).isFalse();
                assertThat(ch.config().getOption(ChannelOption.TCP_NODELAY)).isTrue();
                assertThat(ch.config().getOption(ChannelOption.SO_KEEPALIVE)).isTrue();
                assertThat(ch.config().getOption(ChannelOption.ALLOW_HALF_CLOSURE)).isTrue();
                assertThat(ch.config().getWriteBufferWaterMark()).isEqualTo(ProxyServer.WATER_MARK);
                assertThat(ch.config().getConnectTimeoutMillis())
                        .isEqualTo((int) ProxyFixture.settings().connectTimeout().toMillis());
                ch.close().sync();
            }
        }
    }

    @Test
    void aRefusedConnectFailsTheFutureAndClosesTheChannel() throws Exception {
        ChannelFuture f = connect(new MemberAddress("m", "127.0.0.1", 1, 8008)); // port 1: refused
        assertThat(f.isSuccess()).isFalse();
        assertThat(f.cause()).isNotNull();
        Future<?> closed = f.channel().closeFuture();
        assertThat(closed.await(2, TimeUnit.SECONDS)).as("closed after the failed connect").isTrue();
    }

    @Test
    void onlyIpLiteralsSkipTheResolver() {
        assertThat(connector.literal(new MemberAddress("a", "127.0.0.21", 5432, 8008)))
                .isEqualTo(new InetSocketAddress("127.0.0.21", 5432));
        assertThat(connector.literal(new MemberAddress("b", "localhost", 5432, 8008))).as("a host name").isNull();
        assertThat(connector.literal(new MemberAddress("c", "pg-0.example", 5432, 8008))).isNull();
    }
}
