package io.patroxy.health;

import java.time.Duration;
import java.time.Instant;

/**
 * The result of one health check of one member.
 *
 * @param httpCode the HTTP status, or -1 when none was received
 * @param detail   a short human reason ("connection refused", "HTTP 503", ...)
 * @param patroni  what the member's JSON said, {@link PatroniStatus#UNKNOWN} if nothing readable
 */
public record CheckOutcome(CheckStatus status, int httpCode, Duration duration, String detail,
        PatroniStatus patroni, Instant finishedAt) {

    public boolean passed() {
        return status == CheckStatus.L7OK;
    }

    /** HAProxy's way of saying it in a log line: "Layer7 wrong status, code: 503, check duration: 3ms". */
    public String describe() {
        StringBuilder s = new StringBuilder(status.name()).append(" (").append(status.description());
        if (httpCode >= 0) {
            s.append(", code: ").append(httpCode);
        }
        if (detail != null && !detail.isEmpty() && httpCode < 0) {
            s.append(", ").append(detail);
        }
        return s.append(", check duration: ").append(duration.toMillis()).append("ms)").toString();
    }
}
