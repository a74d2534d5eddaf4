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
 * writable again. So a slow reader costs at most one water mark of memory per direction. The rule
 * has one owner, {@link Session#updateReads()}, which also keeps the client unread while a drop
 * drains the server's last message.
 */
final class RelayHandler extends ChannelInboundHandlerAdapter {

    private final Session session;
    private final boolean fromClient;

    private RelayHandler(Session session, boolean fromClient) {
        this.session = session;
        this.fromClient = fromClient;
    }

    /** On the client channel: what the client sends goes to the server. */
    static RelayHandler clientToServer(Session session) {
        return new RelayHandler(session, true);
    }

    /** On the server channel: what the server sends goes to the client. */
    static RelayHandler serverToClient(Session session) {
        return new RelayHandler(session, false);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel peer = session.peerOf(fromClient);
        if (!session.forwards(fromClient) || peer == null || !peer.isActive() || !(msg instanceof ByteBuf buf)) {
            ReferenceCountUtil.release(msg); // nobody to take it (or a member being dropped): never leak what we do not forward
            return;
        }
        if (fromClient) {
            session.clientBytes(buf); // a Terminate at the end: the server's close that follows is normal
        } else if (!session.serverBytes(buf)) { // follows the message framing: drop messages and cancel keys
            buf.release(); // a standby on a leader port: the session ended instead
            return;
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
        session.updateReads();
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
        if (fromClient) {
            session.close(CloseCause.CLIENT_ERROR);
        } else {
            session.serverFailed();
        }
    }
}
