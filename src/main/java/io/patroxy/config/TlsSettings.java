package io.patroxy.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Validated TLS settings: the client leg ({@code patroxy.tls.*}) and, when Patroxy terminates
 * client TLS, its own leg to PostgreSQL ({@code patroxy.server.tls.*}). Files are checked to be
 * readable PEM at start; the proxy floor builds the TLS contexts from them and reloads them.
 */
public record TlsSettings(ClientMode mode, Optional<Path> certFile, Optional<Path> keyFile, Optional<Path> caFile,
        List<String> protocols, List<String> ciphers, ServerMode serverMode, Optional<Path> serverCaFile) {

    /** {@code patroxy.tls.mode}. */
    public enum ClientMode {
        /** The client's TLS is the server's, relayed opaquely (HAProxy's way); Patroxy never answers 'N' for a server. */
        PASSTHROUGH,
        /** Patroxy answers 'S' with its own certificate and reads the StartupMessage inside TLS (PgBouncer's way). */
        TERMINATE,
        /** Terminate, and refuse a client that does not ask for TLS. */
        REQUIRE;

        public boolean terminates() {
            return this != PASSTHROUGH;
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** {@code patroxy.server.tls.mode}: libpq's sslmode values, for Patroxy's leg to PostgreSQL. */
    public enum ServerMode {
        DISABLE, PREFER, REQUIRE, VERIFY_CA, VERIFY_FULL;

        /** Whether a server that declines TLS ('N') is still used, in plaintext. */
        public boolean plaintextAllowed() {
            return this == DISABLE || this == PREFER;
        }

        public boolean verifiesChain() {
            return this == VERIFY_CA || this == VERIFY_FULL;
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        static Optional<ServerMode> parse(String s) {
            for (ServerMode m : values()) {
                if (m.label().equals(s)) {
                    return Optional.of(m);
                }
            }
            return Optional.empty();
        }
    }

    /** The default: passthrough, an ephemeral certificate for Patroxy's own refusals, server leg prefer. */
    public static TlsSettings passthrough() {
        return new TlsSettings(ClientMode.PASSTHROUGH, Optional.empty(), Optional.empty(), Optional.empty(),
                List.of("TLSv1.2", "TLSv1.3"), List.of(), ServerMode.PREFER, Optional.empty());
    }

    /** Whether the server leg is ever TLS: only when Patroxy terminates and the server mode is not disable. */
    public boolean serverLegTls() {
        return mode.terminates() && serverMode != ServerMode.DISABLE;
    }
}
