package io.patroxy.stats;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Optional;

import io.patroxy.config.PatroxyConfig;

/**
 * HTTP basic authentication of the admin API: one user, {@code patroxy.admin.user} /
 * {@code patroxy.admin.password}, separate from the stats page's. Both parts are compared in
 * constant time (as SHA-256 digests, so not even their lengths show in the response time); the
 * password is kept only as its digest and never logged.
 */
public final class AdminAuth {

    /** The challenge of a 401. */
    public static final String CHALLENGE = "Basic realm=\"Patroxy Admin\", charset=\"UTF-8\"";

    private final String user;
    private final byte[] userDigest;
    private final byte[] passwordDigest;

    AdminAuth(String user, String password) {
        this.user = user;
        this.userDigest = sha256(user);
        this.passwordDigest = sha256(password);
    }

    /** On when both are set (validated at start-up: {@code ConfigValidation}); else empty. */
    public static Optional<AdminAuth> fromConfig(PatroxyConfig.Admin admin) {
        Optional<String> user = admin.user().map(String::trim).filter(u -> !u.isEmpty());
        Optional<String> password = admin.password().filter(p -> !p.isEmpty());
        if (user.isEmpty() || password.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new AdminAuth(user.get(), password.get()));
    }

    /** The user named in {@code authorization} when its user and password are the configured ones; else empty. */
    public Optional<String> authenticate(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            return Optional.empty();
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
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
        return "AdminAuth[user=" + user + "]"; // never the password
    }
}
