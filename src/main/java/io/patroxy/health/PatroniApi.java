package io.patroxy.health;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.vertx.core.Vertx;
import io.vertx.core.impl.VertxInternal;

/**
 * Patroni's REST API as the checks use it: one GET on a Netty channel of its own, on the event loops
 * Quarkus' Vert.x already runs, with Netty's HTTP codec and nothing more. Vert.x's HTTP client, used
 * before, cost ~3.7 ms of CPU per check in its pool, promises and per-connection set-up (the checks
 * were most of Patroxy's idle CPU: docs/performance.md); the REST client extension before that ~550
 * classes more. Like HAProxy's checks, each request uses a fresh connection ({@code Connection:
 * close}): a pooled connection to a restarted Patroni would fail once for nothing.
 */
public final class PatroniApi implements AutoCloseable {

    /** What a member answered: the status and the body (at most {@link #MAX_BODY} bytes of it, as UTF-8). */
    public record Answer(int status, String body) {
    }

    /** Patroni's answers are a few hundred bytes; more is kept no longer (the status still decides). */
    static final int MAX_BODY = 64 * 1024;

    private final Bootstrap template;
    private volatile SslContext tls; // made on the first https check

    public PatroniApi(Vertx vertx, Duration connectTimeout) {
        VertxInternal v = (VertxInternal) vertx;
        this.template = new Bootstrap()
                .group(vertx.nettyEventLoopGroup())
                .channelFactory(v.transport().channelFactory(false))
                .resolver(v.nettyAddressResolverGroup())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, connectTimeout.toMillis()))
                .option(ChannelOption.TCP_NODELAY, true);
    }

    /**
     * GET {@code url}; the answer, or a failure (connect, reset, not HTTP, or a {@link TimeoutException}
     * when the whole exchange took longer than {@code timeout}, after which the connection is closed:
     * never two in flight for one member).
     */
    public CompletionStage<Answer> get(String url, Duration timeout) {
        CompletableFuture<Answer> result = new CompletableFuture<>();
        URI uri;
        String host;
        int port;
        boolean https;
        try {
            uri = URI.create(url);
            https = "https".equalsIgnoreCase(uri.getScheme());
            if (!https && !"http".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
                throw new IllegalArgumentException("not an http(s) URL with a host: " + url);
            }
            host = uri.getHost();
            port = uri.getPort() > 0 ? uri.getPort() : https ? 443 : 80;
        } catch (IllegalArgumentException e) {
            result.completeExceptionally(e);
            return result;
        }
        SslContext ssl;
        try {
            ssl = https ? tls() : null;
        } catch (SSLException e) {
            result.completeExceptionally(e);
            return result;
        }
        String target = (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
        String hostHeader = uri.getPort() > 0 ? host + ":" + port : host;
        ChannelFuture connect = template.clone().handler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                if (ssl != null) {
                    SslHandler h = ssl.newHandler(ch.alloc(), host, port);
                    SSLEngine engine = h.engine();
                    SSLParameters p = engine.getSSLParameters();
                    p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the host
                    engine.setSSLParameters(p);
                    ch.pipeline().addLast(h);
                }
                ch.pipeline().addLast(new HttpClientCodec(), new Exchange(result));
            }
        }).connect(host, port);
        Channel ch = connect.channel();
        if (!ch.isRegistered() && connect.isDone() && !connect.isSuccess()) { // no event loop took the channel
            result.completeExceptionally(connect.cause());
            return result;
        }
        var timer = ch.eventLoop().schedule(
                () -> result.completeExceptionally(new TimeoutException("no answer within " + timeout.toMillis() + " ms")),
                Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
        result.whenComplete((answer, error) -> {
            timer.cancel(false);
            ch.close(); // whatever state the exchange is in
        });
        connect.addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                result.completeExceptionally(f.cause());
            } else if (!result.isDone()) {
                DefaultFullHttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, target,
                        Unpooled.EMPTY_BUFFER);
                get.headers().set(HttpHeaderNames.HOST, hostHeader)
                        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
                        .set(HttpHeaderNames.ACCEPT, "application/json");
                f.channel().writeAndFlush(get).addListener((ChannelFuture w) -> {
                    if (!w.isSuccess()) {
                        result.completeExceptionally(w.cause());
                    }
                });
            }
        });
        return result;
    }

    private SslContext tls() throws SSLException {
        SslContext c = tls;
        if (c == null) {
            synchronized (this) {
                c = tls;
                if (c == null) {
                    c = tls = SslContextBuilder.forClient().build(); // the JDK's trusted CAs, as Vert.x's client had
                }
            }
        }
        return c;
    }

    /** Reads one response: its status, then up to {@link #MAX_BODY} bytes of body until the last part. */
    private static final class Exchange extends SimpleChannelInboundHandler<HttpObject> {

        private final CompletableFuture<Answer> result;
        private ByteBuf kept;
        private int status = -1;

        Exchange(CompletableFuture<Answer> result) {
            this.result = result;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (msg.decoderResult().isFailure()) {
                Throwable cause = msg.decoderResult().cause();
                result.completeExceptionally(cause instanceof DecoderException ? cause : new DecoderException(cause));
                return;
            }
            if (msg instanceof HttpResponse r) {
                status = r.status().code();
                release(); // an interim response's body (1xx) is not the answer
                kept = ctx.alloc().heapBuffer(256, MAX_BODY);
            }
            if (msg instanceof HttpContent c && kept != null) {
                ByteBuf part = c.content();
                kept.writeBytes(part, part.readerIndex(), Math.min(part.readableBytes(), kept.maxWritableBytes()));
            }
            if (msg instanceof LastHttpContent && status >= 0) {
                String text = kept.isReadable() ? kept.toString(StandardCharsets.UTF_8) : null;
                result.complete(new Answer(status, text));
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            result.completeExceptionally(new IOException("the connection closed before the response ended"));
            release();
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.completeExceptionally(cause);
            ctx.close();
        }

        private void release() {
            if (kept != null) {
                kept.release();
                kept = null;
            }
        }
    }

    @Override
    public void close() {
        // nothing pooled: every check's channel is closed when its exchange ends
    }
}
