package io.patroxy.health;

/** Result of one check, named as HAProxy's {@code check_status} names it. */
public enum CheckStatus {
    /** Layer 7 OK: HTTP 200. The only passing result. */
    L7OK("layer 7 check passed"),
    /** Layer 7 wrong status: the API answered, but not 200 (Patroni's 503 on a replica). */
    L7STS("layer 7 wrong status"),
    /** Layer 7 invalid response: not HTTP. */
    L7RSP("layer 7 invalid response"),
    /** Layer 7 timeout: connected, but no answer within the check timeout. */
    L7TOUT("layer 7 timeout"),
    /** Layer 4 connection problem: refused. */
    L4CON("layer 4 connection problem"),
    /** Layer 4 timeout: no connection within the connect timeout. */
    L4TOUT("layer 4 timeout"),
    /** Any other socket error (reset, unreachable, ...). */
    SOCKERR("socket error");

    private final String description;

    CheckStatus(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
