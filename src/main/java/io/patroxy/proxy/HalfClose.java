package io.patroxy.proxy;

import io.netty.buffer.ByteBuf;

/**
 * Who ended a relayed conversation, from the FINs and the client's Terminate: the side that sent
 * FIN first ended it, and a server that closes after the client's Terminate ('X') only did what the
 * client asked. A pure value holder of one session, on its event loop.
 */
final class HalfClose {

    private boolean clientInputClosed;
    private boolean serverInputClosed;
    private CloseCause firstFin;
    private boolean clientTerminated;

    /** Notes whether a client chunk ends with a Terminate message ('X', length 4). */
    void clientChunk(ByteBuf buf) {
        int end = buf.writerIndex();
        clientTerminated = buf.readableBytes() >= 5 && buf.getByte(end - 5) == 'X' && buf.getInt(end - 4) == 4;
    }

    /** One side sent FIN; returns true when both directions are now done. */
    boolean fin(boolean fromClient) {
        if (firstFin == null) {
            firstFin = fromClient || clientTerminated ? CloseCause.CLIENT_CLOSED : CloseCause.SERVER_CLOSED;
        }
        if (fromClient) {
            clientInputClosed = true;
        } else {
            serverInputClosed = true;
        }
        return clientInputClosed && serverInputClosed;
    }

    /** The client sent FIN or its Terminate: whatever the server does next, the client asked for it. */
    boolean clientEnded() {
        return clientInputClosed || clientTerminated;
    }

    /** The cause of the end after a FIN. */
    CloseCause afterFin() {
        return firstFin;
    }

    /** The cause when a channel became inactive. */
    CloseCause inactive(boolean clientSide) {
        if (firstFin == null && !clientSide && clientTerminated) {
            firstFin = CloseCause.CLIENT_CLOSED; // PostgreSQL closes after the client's Terminate: the client ended it
        }
        return firstFin != null ? firstFin : clientSide ? CloseCause.CLIENT_CLOSED : CloseCause.SERVER_CLOSED;
    }
}
