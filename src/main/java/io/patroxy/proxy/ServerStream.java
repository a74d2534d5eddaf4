package io.patroxy.proxy;

import io.netty.buffer.ByteBuf;
import io.patroxy.config.MemberAddress;
import io.patroxy.pgwire.ServerFraming;

/**
 * What a session knows of the server's side of a relayed conversation: its message framing (so a
 * drop can wait for a boundary) and its cancel key, registered while the session lives. An
 * encrypted session is opaque: no framing, never at a known boundary.
 */
final class ServerStream {

    private final ServerFraming framing;
    private final CancelKeys cancelKeys;
    private final MemberAddress member;

    /** @param framing null for an encrypted (opaque) session */
    ServerStream(ServerFraming framing, CancelKeys cancelKeys, MemberAddress member) {
        this.framing = framing;
        this.cancelKeys = cancelKeys;
        this.member = member;
    }

    /** Follows a chunk about to be relayed; registers the cancel key once seen. */
    void follow(ByteBuf buf) {
        if (framing == null) {
            return;
        }
        boolean hadKey = framing.keySeen();
        framing.consume(buf);
        if (!hadKey && framing.keySeen()) {
            cancelKeys.register(framing.backendPid(), framing.backendSecret(), member);
        }
    }

    /** Unencrypted and between two messages: Patroxy may add an ErrorResponse of its own. */
    boolean atBoundary() {
        return framing != null && framing.atBoundary();
    }

    /** Unencrypted and in the middle of a message: a drop waits for its end. */
    boolean midMessage() {
        return framing != null && !framing.atBoundary();
    }

    /**
     * Unencrypted, between two messages, before AuthenticationOk and with no ErrorResponse so far:
     * a server that closes now leaves its client in the middle of logging in without a word.
     */
    boolean loginCutSilently() {
        return framing != null && framing.atBoundary() && !framing.authenticated() && !framing.errorSeen();
    }

    /** Unencrypted, and the server's last word on {@code in_hot_standby} was {@code on}: a standby. */
    boolean hotStandby() {
        return framing != null && framing.hotStandby();
    }

    /** The session ended: its cancel key goes. */
    void ended() {
        if (framing != null && framing.keySeen()) {
            cancelKeys.remove(framing.backendPid(), framing.backendSecret());
        }
    }
}
