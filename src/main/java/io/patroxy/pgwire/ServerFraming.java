package io.patroxy.pgwire;

import io.netty.buffer.ByteBuf;

/**
 * Follows the server-to-client message framing (type byte + int32 length) of a relayed session
 * without copying or changing the bytes, so Patroxy knows when it stands between two messages
 * (where it may add an ErrorResponse of its own) and sees the session's BackendKeyData.
 *
 * <p>Cost: per chunk, one step per message header; message bodies are skipped by arithmetic,
 * except the first 8 bytes of 'K' (BackendKeyData) and 'R' (Authentication) messages and a
 * ParameterStatus as long as {@code in_hot_standby = on|off}.
 */
public final class ServerFraming {

    /** The body of ParameterStatus {@code in_hot_standby = on}. */
    static final byte[] HOT_STANDBY_ON = "in_hot_standby\0on\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    static final byte[] HOT_STANDBY_OFF = "in_hot_standby\0off\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final int MAX_CAPTURE = Math.max(8, HOT_STANDBY_OFF.length);

    private int headerFill;
    private byte type;
    private int length;
    private long bodyLeft;
    private final byte[] captured = new byte[MAX_CAPTURE];
    private int capturedFill;
    private int capturedWant;
    private boolean authenticated;
    private boolean keySeen;
    private boolean errorSeen;
    private boolean hotStandby;
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
        capturedWant = (type == 'K' || type == 'R') ? (int) Math.min(8, bodyLeft)
                : type == 'S' && (bodyLeft == HOT_STANDBY_ON.length || bodyLeft == HOT_STANDBY_OFF.length) ? (int) bodyLeft : 0;
    }

    private void onCaptured() {
        if (type == 'S') {
            if (java.util.Arrays.equals(captured, 0, capturedWant, HOT_STANDBY_ON, 0, HOT_STANDBY_ON.length)) {
                hotStandby = true;
            } else if (java.util.Arrays.equals(captured, 0, capturedWant, HOT_STANDBY_OFF, 0, HOT_STANDBY_OFF.length)) {
                hotStandby = false; // promoted
            }
            return;
        }
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

    /**
     * The server's last word on {@code in_hot_standby} was {@code on} (PostgreSQL 14 and later send it
     * at login and whenever it changes): it is in recovery, a read-only standby — not a primary.
     */
    public boolean hotStandby() {
        return hotStandby;
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

    /** Whether the whole messages in {@code buf} (indexes left as they are) end with the server a standby. */
    public static boolean saysHotStandby(ByteBuf buf) {
        ServerFraming probe = new ServerFraming();
        probe.consume(buf);
        return probe.hotStandby();
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
