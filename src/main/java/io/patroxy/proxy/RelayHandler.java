package io.patroxy.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * Relays one direction of a session: what this channel reads is written to its peer.
 *
 * <p>Backpressure, as a sentence: when one side becomes unwritable (its outbound buffer passed
 * the high water mark), stop reading the other side; resume reading it when the first side is
 * writable again. So a slow reader costs at most one water mark of memory per direction.
 */
final class RelayHandler extends ChannelInboundHandlerAdapter {

    private final Session session;
    private final boolean fromClient;

    RelayHandler(Session session, boolean fromClient) {
        this.session = session;
        this.fromClient = fromClient;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel peer = session.peerOf(fromClient);
        if (peer == null || !peer.isActive() || !(msg instanceof ByteBuf buf)) {
            ReferenceCountUtil.release(msg); // nobody to take it: never leak what we do not forward
            return;
        }
        if (fromClient) {
            session.clientBytes(buf); // a Terminate at the end: the server's close that follows is normal
        } else {
            session.serverBytes(buf); // follows the message framing: drop messages and cancel keys
        }
        session.countRelayed(fromClient, buf.readableBytes());
        peer.write(buf, peer.voidPromise());
        if (!fromClient) {
            session.serverChunkRelayed();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Channel peer = session.peerOf(fromClient);
        if (peer != null) {
            peer.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // this channel's writability governs reading from the peer, whose bytes it receives
        Channel peer = session.peerOf(fromClient);
        if (peer != null) {
            peer.config().setAutoRead(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            session.inputClosed(fromClient);
        } else if (evt instanceof IdleStateEvent) {
            session.close(fromClient ? CloseCause.CLIENT_TIMEOUT : CloseCause.SERVER_TIMEOUT);
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        session.channelClosed(fromClient);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        session.close(fromClient ? CloseCause.CLIENT_ERROR : CloseCause.SERVER_ERROR);
    }
}
