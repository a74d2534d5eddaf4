package io.patroxy.stats;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Optional;

/**
 * HTTP basic authentication for the stats page and /metrics, like HAProxy's {@code stats auth
 * user:password}: one user, off unless {@code patroxy.stats.auth} is set.
 */
public final class BasicAuth {

    /** HAProxy's default {@code stats realm} is "HAProxy Statistics". */
    public static final String CHALLENGE = "Basic realm=\"Patroxy Statistics\", charset=\"UTF-8\"";

    private final byte[] expected;

    private BasicAuth(String userColonPassword) {
        this.expected = ("Basic " + Base64.getEncoder().encodeToString(userColonPassword.getBytes(StandardCharsets.UTF_8)))
                .getBytes(StandardCharsets.UTF_8);
    }

    /** From {@code patroxy.stats.auth}; empty when unset or blank (no authentication). */
    public static Optional<BasicAuth> fromConfig(Optional<String> setting) {
        String value = setting.map(String::trim).orElse("");
        if (value.isEmpty()) {
            return Optional.empty();
        }
        int colon = value.indexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw new IllegalArgumentException(
                    "patroxy.stats.auth (PATROXY_STATS_AUTH) must be user:password with neither part empty");
        }
        return Optional.of(new BasicAuth(value));
    }

    /** Whether the request's {@code Authorization} header carries the configured user and password. */
    public boolean accepts(String authorization) {
        if (authorization == null) {
            return false;
        }
        // constant time: how much of a guess matched must not show in the response time
        return MessageDigest.isEqual(expected, authorization.trim().getBytes(StandardCharsets.UTF_8));
    }
}
