package io.patroxy.stats;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Optional;

import io.patroxy.config.PatroxyConfig;

/**
 * HTTP basic authentication of one user, for the stats page and /metrics ({@code
 * patroxy.stats.auth user:password}, like HAProxy's {@code stats auth}) and, separately, for the
 * admin API ({@code patroxy.admin.user} / {@code patroxy.admin.password}). Off unless configured.
 * The header is decoded and both parts are compared in constant time, as SHA-256 digests, so not
 * even their lengths show in the response time; the password is kept only as its digest and never
 * logged.
 */
public final class BasicAuth {

    /** The stats page's challenge (HAProxy's default {@code stats realm} is "HAProxy Statistics"). */
    public static final String STATS_CHALLENGE = "Basic realm=\"Patroxy Statistics\", charset=\"UTF-8\"";
    /** The admin API's challenge. */
    public static final String ADMIN_CHALLENGE = "Basic realm=\"Patroxy Admin\", charset=\"UTF-8\"";

    private final String user;
    private final byte[] userDigest;
    private final byte[] passwordDigest;

    BasicAuth(String user, String password) {
        this.user = user;
        this.userDigest = sha256(user);
        this.passwordDigest = sha256(password);
    }

    /** From {@code patroxy.stats.auth}; empty when unset or blank (no authentication). */
    public static Optional<BasicAuth> forStats(Optional<String> setting) {
        String value = setting.map(String::trim).orElse("");
        if (value.isEmpty()) {
            return Optional.empty();
        }
        int colon = value.indexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw new IllegalArgumentException(
                    "patroxy.stats.auth (PATROXY_STATS_AUTH) must be user:password with neither part empty");
        }
        return Optional.of(new BasicAuth(value.substring(0, colon), value.substring(colon + 1)));
    }

    /** The admin API's: on when both are set (validated at start-up: {@code ConfigValidation}); else empty. */
    public static Optional<BasicAuth> forAdmin(PatroxyConfig.Admin admin) {
        Optional<String> user = admin.user().map(String::trim).filter(u -> !u.isEmpty());
        Optional<String> password = admin.password().filter(p -> !p.isEmpty());
        if (user.isEmpty() || password.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new BasicAuth(user.get(), password.get()));
    }

    /** Whether the request's {@code Authorization} header carries the configured user and password. */
    public boolean accepts(String authorization) {
        return authenticate(authorization).isPresent();
    }

    /** The user named in {@code authorization} when its user and password are the configured ones; else empty. */
    public Optional<String> authenticate(String authorization) {
        if (authorization == null) {
            return Optional.empty();
        }
        String header = authorization.trim();
        if (!header.regionMatches(true, 0, "Basic ", 0, 6)) {
            return Optional.empty();
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        int colon = decoded.indexOf(':');
        if (colon < 0) {
            return Optional.empty();
        }
        boolean userOk = MessageDigest.isEqual(userDigest, sha256(decoded.substring(0, colon)));
        boolean passwordOk = MessageDigest.isEqual(passwordDigest, sha256(decoded.substring(colon + 1)));
        return userOk & passwordOk ? Optional.of(user) : Optional.empty(); // both compared, always
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    @Override
    public String toString() {
        return "BasicAuth[user=" + user + "]"; // never the password
    }
}
