package io.patroxy.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.patroxy.config.MemberAddress;

/**
 * One try at a server for a session that is not relaying yet: the connection to one member and
 * what that server said so far. Everything it hears goes back to its session's {@link Handshake}, on the
 * same event loop, which knows its current attempt by identity and ignores any other: an abandoned
 * attempt can never act on the session.
 */
final class ServerAttempt extends ChannelInboundHandlerAdapter implements ChannelFutureListener {

    private final Handshake handshake;
    private final MemberAddress member;
    private ChannelFuture connecting;
    private Channel channel;
    private ByteBuf received;
    private boolean abandoned;
    private boolean tls;

    ServerAttempt(Handshake handshake, MemberAddress member) {
        this.handshake = handshake;
        this.member = member;
    }

    MemberAddress member() {
        return member;
    }

    /** Connects on the client's event loop; the front end hears of the outcome. */
    void connect(Connector connector, Channel client) {
        connecting = connector.connect(client, member, this);
        connecting.addListener(this);
    }

    /** The connect's outcome (the attempt is its own listener: no lambda per connection). */
    @Override
    public void operationComplete(ChannelFuture f) {
        if (abandoned) {
            f.channel().close();
        } else {
            if (f.isSuccess()) {
                channel = f.channel();
            }
            handshake.onConnected(this, f);
        }
    }

    Channel channel() {
        return channel;
    }

    /** What the server sent so far (never null once the server has spoken; empty before). */
    ByteBuf received() {
        return received;
    }

    /** Hands the bytes received so far over to the caller, who releases them. */
    ByteBuf takeReceived(Channel client) {
        ByteBuf r = received != null ? received : client.alloc().buffer(0);
        received = null;
        return r;
    }

    /** Patroxy's own TLS to the server begins (after its 'S'): the handler goes first in the pipeline. */
    void startTls(SslHandler handler) {
        tls = true;
        channel.pipeline().addFirst("tls", handler);
        channel.read(); // the handler reads on by itself until the handshake is done
    }

    /** Whether this connection is TLS of Patroxy's own (terminating). */
    boolean tls() {
        return tls;
    }

    void read() {
        if (channel != null) {
            channel.read();
        }
    }

    /** Gives the server up: its connection (or the connect under way) is closed, its bytes released. */
    void abandon() {
        abandoned = true;
        if (connecting != null) {
            connecting.channel().close();
        }
        release();
    }

    private void release() {
        if (received != null) {
            received.release();
            received = null;
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (abandoned || !(msg instanceof ByteBuf buf)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (received == null) {
            received = ctx.alloc().buffer(Math.max(256, buf.readableBytes()));
        }
        received.writeBytes(buf);
        buf.release();
        handshake.onServerBytes(this);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        gone();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent done && !abandoned) {
            handshake.onServerTlsDone(this, done);
        } else if (evt instanceof ChannelInputShutdownEvent) {
            gone();
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        gone();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (abandoned) {
            release();
        }
    }

    private void gone() {
        if (!abandoned) {
            handshake.onServerGone(this);
        }
    }
}
