package io.patroxy.pgwire;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.jboss.logging.Logger;

import io.netty.buffer.ByteBuf;

/**
 * The server's AuthenticationSASL ('R', code 10, then the mechanism names, each NUL-terminated,
 * and a final NUL), and taking SCRAM-SHA-256-PLUS out of it. Channel binding ties SCRAM to the TLS
 * certificate the client sees; when the client's TLS ends in Patroxy and Patroxy's own TLS goes
 * to the server, the client would bind to Patroxy's certificate and the server reject the proof.
 * Without -PLUS offered, libpq's {@code channel_binding=prefer} (its default) uses plain SCRAM and
 * {@code channel_binding=require} fails with libpq's own message; pgjdbc does the same.
 */
public final class SaslMechanisms {

    public static final String CHANNEL_BINDING = "SCRAM-SHA-256-PLUS";
    private static final int AUTH_SASL = 10;
    private static final AtomicBoolean LOGGED = new AtomicBoolean();

    private SaslMechanisms() {
    }

    /** Whether {@code in} begins with an Authentication message not yet whole (and not too long to wait for). */
    public static boolean incomplete(ByteBuf in, int maxLength) {
        int start = in.readerIndex();
        if (in.readableBytes() < 1 || in.getByte(start) != 'R') {
            return false;
        }
        if (in.readableBytes() < 5) {
            return true;
        }
        int len = in.getInt(start + 1);
        return len >= 4 && len <= maxLength && in.readableBytes() < 1 + len;
    }

    /** Whether {@code in} begins with a whole AuthenticationSASL that offers SCRAM-SHA-256-PLUS. */
    public static boolean offersChannelBinding(ByteBuf in) {
        List<String> m = mechanisms(in);
        return m != null && m.contains(CHANNEL_BINDING);
    }

    /** The mechanisms of a whole AuthenticationSASL at the start of {@code in}, or null when it is not one. */
    public static List<String> mechanisms(ByteBuf in) {
        int start = in.readerIndex();
        if (in.readableBytes() < 9 || in.getByte(start) != 'R' || in.getInt(start + 5) != AUTH_SASL) {
            return null;
        }
        int len = in.getInt(start + 1);
        if (len < 8 || in.readableBytes() < 1 + len) {
            return null;
        }
        List<String> names = new ArrayList<>();
        int i = start + 9;
        int end = start + 1 + len;
        while (i < end && in.getByte(i) != 0) {
            int zero = in.indexOf(i, end, (byte) 0);
            if (zero < 0) {
                return null;
            }
            names.add(in.toString(i, zero - i, StandardCharsets.UTF_8));
            i = zero + 1;
        }
        return names;
    }

    /** {@code in} with SCRAM-SHA-256-PLUS taken out of its leading AuthenticationSASL; {@code in} is released. */
    public static ByteBuf withoutChannelBinding(ByteBuf in) {
        List<String> names = mechanisms(in);
        int len = in.getInt(in.readerIndex() + 1);
        ByteBuf out = in.alloc().buffer(in.readableBytes());
        out.writeByte('R');
        int lengthAt = out.writerIndex();
        out.writeInt(0).writeInt(AUTH_SASL);
        for (String n : names) {
            if (!n.equals(CHANNEL_BINDING)) {
                out.writeBytes(n.getBytes(StandardCharsets.UTF_8)).writeByte(0);
            }
        }
        out.writeByte(0);
        out.setInt(lengthAt, out.writerIndex() - lengthAt);
        out.writeBytes(in, in.readerIndex() + 1 + len, in.readableBytes() - 1 - len); // anything after it, as it came
        in.release();
        return out;
    }

    /** Said once at INFO (then at DEBUG per session), by name, so an operator knows why channel binding is off. */
    public static void logDropped(Logger log, Object session) {
        String what = "SCRAM channel binding cannot cross Patroxy's TLS termination (the client would bind to Patroxy's"
                + " certificate): SCRAM-SHA-256-PLUS taken out of the server's AuthenticationSASL; a client must set"
                + " channel_binding=disable (libpq's default prefer is refused by PostgreSQL on a TLS leg as 'SCRAM channel"
                + " binding negotiation error'), or set patroxy.server.tls.mode=disable on a trusted network, or use md5"
                + " (docs/tls.md)";
        if (LOGGED.compareAndSet(false, true)) {
            log.info(what);
        }
        log.debugf("%s: %s", session, "SCRAM-SHA-256-PLUS taken out of the server's AuthenticationSASL");
    }
}
