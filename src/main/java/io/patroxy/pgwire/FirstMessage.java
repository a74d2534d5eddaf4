package io.patroxy.pgwire;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import io.netty.buffer.ByteBuf;

/**
 * The first message a PostgreSQL client sends on a new connection — the only untyped one:
 * {@code int32 length} (including itself), {@code int32 code}, then the body.
 * Parsed with PostgreSQL's own bounds: nothing is buffered past {@link #MAX_LENGTH}.
 */
public sealed interface FirstMessage {

    /** PostgreSQL's MAX_STARTUP_PACKET_LENGTH. */
    int MAX_LENGTH = 10_000;
    int SSL_REQUEST = 80877103;
    int GSSENC_REQUEST = 80877104;
    int CANCEL_REQUEST = 80877102;
    int PROTOCOL_3 = 3 << 16;

    /** SSLRequest or GSSENCRequest: the server answers one byte, 'S'/'G' or 'N'. */
    record EncryptionRequest(boolean gss) implements FirstMessage {
    }

    record CancelRequest(int pid, int secret) implements FirstMessage {
    }

    /** A StartupMessage; {@code packet} is the whole message, kept to send (again) to a server. */
    record Startup(byte[] packet, Map<String, String> parameters) implements FirstMessage {
        public String user() {
            return parameters.getOrDefault("user", "");
        }

        public String database() {
            return parameters.getOrDefault("database", user());
        }
    }

    record Malformed(String reason) implements FirstMessage {
    }

    /**
     * Reads one first message from {@code in} if it is complete; returns null (consuming nothing)
     * while more bytes are needed. A bad length is reported as soon as the length is known.
     */
    static FirstMessage read(ByteBuf in) {
        if (in.readableBytes() < 4) {
            return null;
        }
        int length = in.getInt(in.readerIndex());
        if (length < 8 || length > MAX_LENGTH) {
            return new Malformed("invalid length of startup packet: " + length);
        }
        if (in.readableBytes() < length) {
            return null;
        }
        int code = in.getInt(in.readerIndex() + 4);
        switch (code) {
            case SSL_REQUEST, GSSENC_REQUEST -> {
                in.skipBytes(length);
                return length == 8 ? new EncryptionRequest(code == GSSENC_REQUEST)
                        : new Malformed("invalid length of encryption request: " + length);
            }
            case CANCEL_REQUEST -> {
                if (length != 16) {
                    in.skipBytes(length);
                    return new Malformed("invalid length of cancel request: " + length);
                }
                int pid = in.getInt(in.readerIndex() + 8);
                int secret = in.getInt(in.readerIndex() + 12);
                in.skipBytes(length);
                return new CancelRequest(pid, secret);
            }
            default -> {
                byte[] packet = new byte[length];
                in.readBytes(packet);
                if ((code >>> 16) != 3) {
                    return new Malformed("unsupported frontend protocol " + (code >>> 16) + "." + (code & 0xffff)
                            + ": server supports 3.0 to 3.0");
                }
                Map<String, String> params = parameters(packet);
                if (params == null) {
                    return new Malformed("invalid startup packet layout: expected terminator as last byte");
                }
                return new Startup(packet, params);
            }
        }
    }

    /** name\0value\0 … \0; null when the layout is broken. */
    private static Map<String, String> parameters(byte[] packet) {
        Map<String, String> params = new LinkedHashMap<>();
        int i = 8;
        while (i < packet.length && packet[i] != 0) {
            int nameEnd = indexOfZero(packet, i);
            if (nameEnd < 0) {
                return null;
            }
            int valueEnd = indexOfZero(packet, nameEnd + 1);
            if (valueEnd < 0) {
                return null;
            }
            params.put(new String(packet, i, nameEnd - i, StandardCharsets.UTF_8),
                    new String(packet, nameEnd + 1, valueEnd - nameEnd - 1, StandardCharsets.UTF_8));
            i = valueEnd + 1;
        }
        return i == packet.length - 1 ? params : null;
    }

    private static int indexOfZero(byte[] b, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        return -1;
    }
}
