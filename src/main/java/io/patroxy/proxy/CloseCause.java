package io.patroxy.proxy;

/** Why a session ended: every close names one, and each is logged and counted. */
public enum CloseCause {
    /** The client closed its side (or sent FIN first): the normal end. */
    CLIENT_CLOSED(true),
    /** The server closed its side first (e.g. after a FATAL error of its own). */
    SERVER_CLOSED(true),
    /**
     * The server closed or reset while its client was logging in, without an ErrorResponse (PostgreSQL shut
     * down during authentication); the client got a FATAL 08006 from Patroxy saying so.
     */
    SERVER_CLOSED_IN_LOGIN(true),
    /** Reset or I/O error on the client connection. */
    CLIENT_ERROR(false),
    /** Reset or I/O error on the server connection. */
    SERVER_ERROR(false),
    /** No traffic with the client for {@code patroxy.timeout.client}. */
    CLIENT_TIMEOUT(false),
    /** No traffic with the server for {@code patroxy.timeout.server}. */
    SERVER_TIMEOUT(false),
    /** The session's member was marked DOWN (HAProxy's {@code on-marked-down shutdown-sessions}). */
    MEMBER_DOWN(false),
    /** The leader moved to another member: this one would now be a read-only replica. */
    LEADER_CHANGED(false),
    /**
     * On a listener of the leader role, the session's server said at login it is a standby ({@code
     * in_hot_standby = on}): demoted before the checks saw it; the client got a FATAL 57P01 before
     * ReadyForQuery (a login that had not begun its password exchange is retried on the leader instead).
     */
    MEMBER_IN_RECOVERY(false),
    /** An administrator put the session's member in MAINT (admin API): dropped as on mark-down. */
    MEMBER_MAINT(false),
    /** An administrator shut down the sessions of the session's member (admin API; HAProxy's {@code shutdown sessions server}). */
    SHUTDOWN_SESSIONS(false),
    /** No member was UP when the client connected, nor within the hold. */
    NO_LEADER(false),
    /** The leader could not be reached within the connect timeout, retries and hold. */
    CONNECT_FAILED(false),
    /** {@code patroxy.maxconn} sessions were already open. */
    MAXCONN(false),
    /** The client's first message broke the protocol's bounds; it got a FATAL ErrorResponse. */
    PROTOCOL_ERROR(false),
    /** The client did not send its StartupMessage within {@code patroxy.timeout.startup}; it got a FATAL ErrorResponse. */
    STARTUP_TIMEOUT(false),
    /** {@code patroxy.tls.mode=require} and the client did not ask for TLS; it got a FATAL 28000. */
    TLS_REQUIRED(false),
    /** Patroxy's TLS to the server failed or was declined while {@code patroxy.server.tls.mode} requires it. */
    SERVER_TLS(false),
    /** A CancelRequest connection, done: passed to the cancelled session's member, or dropped if it is gone. */
    CANCEL_REQUEST(false),
    /** Patroxy is stopping and the grace period is over. */
    SHUTDOWN(false);

    private final boolean flushFirst;

    CloseCause(boolean flushFirst) {
        this.flushFirst = flushFirst;
    }

    /** Whether what is already on its way (the server's last error message, say) is delivered before the close. */
    public boolean flushFirst() {
        return flushFirst;
    }

    /** Label value for metrics and logs: {@code member_down}. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
