package io.patroxy.proxy;

import org.jboss.logging.Logger;

import io.netty.buffer.ByteBuf;
import io.patroxy.config.MemberAddress;
import io.patroxy.config.TlsSettings;
import io.patroxy.pgwire.SaslMechanisms;

/**
 * Patroxy's own TLS leg to a server, when it terminates the client's TLS and {@code
 * patroxy.server.tls.mode} is not {@code disable}: what the server's answer to Patroxy's SSLRequest
 * means, what a refusal tells the client, and the one change Patroxy makes to a relayed message.
 *
 * <p>After connecting, Patroxy sends its own SSLRequest (SERVER_TLS); on 'S' a client-mode
 * SslHandler goes first in the server's pipeline and the StartupMessage follows once its handshake
 * is done; on 'N', {@code prefer} goes on in plaintext and {@code require}/{@code verify-*} refuse
 * the client naming the member. SCRAM channel binding cannot cross that: on Patroxy's TLS leg the
 * server offers -PLUS, which binds to the member's certificate, while the client's leg is
 * Patroxy's TLS (it would bind to Patroxy's certificate) or plaintext (libpq refuses a -PLUS offer
 * over a non-SSL connection) — so SCRAM-SHA-256-PLUS is taken out of the server's
 * AuthenticationSASL whenever the server leg is TLS. Pure functions; {@link Handshake} acts on them.
 */
final class ServerTlsLeg {

    private static final Logger LOG = Logger.getLogger(ServerTlsLeg.class);

    /** What the server's first byte after Patroxy's SSLRequest asks Patroxy to do. */
    enum Answer {
        /** 'S' alone: the TLS handshake begins. */
        START_TLS,
        /** 'N' and the mode allows plaintext ({@code prefer}): the StartupMessage goes in plaintext. */
        PLAINTEXT,
        /** 'S' followed by bytes, which would be taken as encrypted (CVE-2021-23222): refused. */
        REFUSE_DATA_AFTER_S,
        /** 'N' and the mode requires TLS: refused. */
        REFUSE_NO_TLS,
        /** An error instead of an answer (starting up, too many clients): as before authentication. */
        NOT_AN_ANSWER
    }

    private ServerTlsLeg() {
    }

    static Answer answer(ByteBuf in, TlsSettings.ServerMode mode) {
        byte first = in.getByte(in.readerIndex());
        if (first == 'S') {
            return in.readableBytes() == 1 ? Answer.START_TLS : Answer.REFUSE_DATA_AFTER_S;
        }
        if (first == 'N') {
            return mode.plaintextAllowed() ? Answer.PLAINTEXT : Answer.REFUSE_NO_TLS;
        }
        return Answer.NOT_AN_ANSWER;
    }

    /** Why a refused answer is refused, for the client's FATAL. */
    static String why(Answer refused) {
        return switch (refused) {
            case REFUSE_DATA_AFTER_S -> "it sent unencrypted data after its 'S'";
            case REFUSE_NO_TLS -> "it does not accept TLS (it answered 'N' to Patroxy's SSLRequest)";
            default -> throw new IllegalArgumentException(refused + " is not a refusal");
        };
    }

    /** The FATAL's text when Patroxy cannot open TLS to {@code member} as its mode demands. */
    static String refusal(MemberAddress member, TlsSettings.ServerMode mode, String why) {
        return "Patroxy could not open TLS to member " + member.name() + " at " + member.host() + ":" + member.pgPort()
                + " (patroxy.server.tls.mode=" + mode.label() + "): " + why;
    }

    /**
     * The server's first message as the client gets it: without SCRAM-SHA-256-PLUS when the server
     * leg is TLS (logged once per session by name), else as it came. Takes over {@code first}.
     */
    static ByteBuf forClient(ByteBuf first, boolean serverLegTls, Object session) {
        if (serverLegTls && SaslMechanisms.offersChannelBinding(first)) {
            ByteBuf rewritten = SaslMechanisms.withoutChannelBinding(first);
            SaslMechanisms.logDropped(LOG, session);
            return rewritten;
        }
        return first;
    }
}
