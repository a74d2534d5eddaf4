package io.patroxy.config;

import java.time.Duration;

/** Validated settings of the client listener and the relay. */
public record ProxySettings(String host, int port, Duration connectTimeout, int retries,
        Duration clientTimeout, Duration serverTimeout, int maxconn, Duration shutdownGrace,
        Duration holdTimeout, int holdQueue) {
}
