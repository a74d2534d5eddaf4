package io.patroxy.pgwire;

import io.netty.buffer.ByteBuf;

/**
 * Follows the server-to-client message framing (type byte + int32 length) of a relayed session
 * without copying or changing the bytes, so Patroxy knows when it stands between two messages
 * (where it may add an ErrorResponse of its own) and sees the session's BackendKeyData.
 *
 * <p>Cost: per chunk, one step per message header; message bodies are skipped by arithmetic,
 * except the first 8 bytes of 'K' (BackendKeyData) and 'R' (Authentication) messages.
 */
public final class ServerFraming {

    private int headerFill;
    private byte type;
    private int length;
    private long bodyLeft;
    private final byte[] captured = new byte[8];
    private int capturedFill;
    private int capturedWant;
    private boolean authenticated;
    private boolean keySeen;
    private boolean errorSeen;
    private int backendPid;
    private int backendSecret;

    /** Follows the readable bytes of {@code buf}; its indexes are left as they are. */
    public void consume(ByteBuf buf) {
        int i = buf.readerIndex();
        int end = buf.writerIndex();
        while (i < end) {
            if (bodyLeft > 0) {
                if (capturedFill < capturedWant) {
                    int n = Math.min(capturedWant - capturedFill, end - i);
                    buf.getBytes(i, captured, capturedFill, n);
                    capturedFill += n;
                    if (capturedFill == capturedWant) {
                        onCaptured();
                    }
                }
                long skip = Math.min(bodyLeft, end - i);
                i += (int) skip;
                bodyLeft -= skip;
                continue;
            }
            if (headerFill == 0 && end - i >= 5) { // the common case: a whole header in this chunk
                type = buf.getByte(i);
                length = buf.getInt(i + 1);
                i += 5;
                startBody();
                continue;
            }
            if (headerFill == 0) {
                type = buf.getByte(i++);
                headerFill = 1;
                length = 0;
                continue;
            }
            length = (length << 8) | (buf.getByte(i++) & 0xff);
            if (++headerFill == 5) {
                headerFill = 0;
                startBody();
            }
        }
    }

    private void startBody() {
        errorSeen |= type == 'E';
        bodyLeft = Math.max(0L, (long) length - 4); // long: length - 4 wraps around to 2 GB at Integer.MIN_VALUE
        capturedFill = 0;
        capturedWant = (type == 'K' || type == 'R') ? (int) Math.min(8, bodyLeft) : 0;
    }

    private void onCaptured() {
        int first = ((captured[0] & 0xff) << 24) | ((captured[1] & 0xff) << 16) | ((captured[2] & 0xff) << 8) | (captured[3] & 0xff);
        if (type == 'R' && first == 0) {
            authenticated = true;
        } else if (type == 'K' && capturedWant == 8) {
            backendPid = first;
            backendSecret = ((captured[4] & 0xff) << 24) | ((captured[5] & 0xff) << 16) | ((captured[6] & 0xff) << 8) | (captured[7] & 0xff);
            keySeen = true;
        }
    }

    /** True between two messages: nothing of a message is pending. */
    public boolean atBoundary() {
        return headerFill == 0 && bodyLeft == 0;
    }

    /** The server sent AuthenticationOk. */
    public boolean authenticated() {
        return authenticated;
    }

    /** The server has begun an ErrorResponse. */
    public boolean errorSeen() {
        return errorSeen;
    }

    public boolean keySeen() {
        return keySeen;
    }

    public int backendPid() {
        return backendPid;
    }

    public int backendSecret() {
        return backendSecret;
    }

    /**
     * Looks at the first server message of a new connection, accumulated in {@code buf}:
     * null while incomplete, else the SQLSTATE if it is an ErrorResponse, "" if it is anything else.
     */
    public static String firstMessageError(ByteBuf buf, int maxLength) {
        if (buf.readableBytes() < 5) {
            return null;
        }
        int start = buf.readerIndex();
        if (buf.getByte(start) != 'E') {
            return "";
        }
        int len = buf.getInt(start + 1);
        if (len < 4 || len > maxLength) {
            return "";
        }
        if (buf.readableBytes() < 1 + len) {
            return null;
        }
        String state = ErrorResponse.sqlState(buf.slice(start + 5, len - 4));
        return state == null ? "" : state;
    }
}
