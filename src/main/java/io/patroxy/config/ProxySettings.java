package io.patroxy.config;

import java.time.Duration;

/**
 * Validated settings of the client listener and the relay.
 *
 * @param startupTimeout how long a client may take to send its first messages (up to its
 *        StartupMessage or CancelRequest) before it is told so and closed
 */
public record ProxySettings(String host, int port, Duration connectTimeout, int retries,
        Duration clientTimeout, Duration serverTimeout, int maxconn, Duration shutdownGrace,
        Duration holdTimeout, int holdQueue, Duration startupTimeout) {

    /** PostgreSQL's authentication_timeout: the default of {@code patroxy.timeout.startup}. */
    public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(60);

    /** With the default startup timeout. */
    public ProxySettings(String host, int port, Duration connectTimeout, int retries, Duration clientTimeout,
            Duration serverTimeout, int maxconn, Duration shutdownGrace, Duration holdTimeout, int holdQueue) {
        this(host, port, connectTimeout, retries, clientTimeout, serverTimeout, maxconn, shutdownGrace, holdTimeout,
                holdQueue, DEFAULT_STARTUP_TIMEOUT);
    }

    /** The same settings with another startup timeout. */
    public ProxySettings withStartupTimeout(Duration timeout) {
        return new ProxySettings(host, port, connectTimeout, retries, clientTimeout, serverTimeout, maxconn,
                shutdownGrace, holdTimeout, holdQueue, timeout);
    }
}
