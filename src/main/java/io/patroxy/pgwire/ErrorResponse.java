package io.patroxy.pgwire;

import java.nio.charset.StandardCharsets;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** PostgreSQL's ErrorResponse ('E'), as Patroxy writes it to clients, and the SQLSTATE of one it reads. */
public final class ErrorResponse {

    /** cannot_connect_now: no leader, or the server is starting up / shutting down. */
    public static final String CANNOT_CONNECT_NOW = "57P03";
    /** admin_shutdown: a session terminated on purpose. */
    public static final String ADMIN_SHUTDOWN = "57P01";
    public static final String TOO_MANY_CONNECTIONS = "53300";
    public static final String CONNECTION_FAILURE = "08006";
    public static final String PROTOCOL_VIOLATION = "08P01";
    /** invalid_authorization_specification: what PostgreSQL answers when no pg_hba line allows the connection. */
    public static final String INVALID_AUTHORIZATION = "28000";

    private ErrorResponse() {
    }

    /** A FATAL ErrorResponse: severity, SQLSTATE and message, as psql, libpq and JDBC show it. */
    public static ByteBuf fatal(ByteBufAllocator alloc, String sqlState, String message) {
        byte[] m = message.getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = alloc.buffer(64 + m.length);
        buf.writeByte('E');
        int lengthAt = buf.writerIndex();
        buf.writeInt(0);
        field(buf, 'S', "FATAL");
        field(buf, 'V', "FATAL");
        field(buf, 'C', sqlState);
        buf.writeByte('M').writeBytes(m).writeByte(0);
        buf.writeByte(0);
        buf.setInt(lengthAt, buf.writerIndex() - lengthAt);
        return buf;
    }

    private static void field(ByteBuf buf, char type, String value) {
        buf.writeByte(type).writeBytes(value.getBytes(StandardCharsets.US_ASCII)).writeByte(0);
    }

    /** The 'C' (SQLSTATE) field of an ErrorResponse body (after type and length), or null. */
    public static String sqlState(ByteBuf body) {
        int i = body.readerIndex();
        int end = body.writerIndex();
        while (i < end && body.getByte(i) != 0) {
            byte type = body.getByte(i);
            int zero = body.indexOf(i + 1, end, (byte) 0);
            if (zero < 0) {
                return null;
            }
            if (type == 'C') {
                return body.toString(i + 1, zero - i - 1, StandardCharsets.US_ASCII);
            }
            i = zero + 1;
        }
        return null;
    }
}
