package io.patroxy.config;

import java.time.Duration;

/** Validated health-check settings (see {@code patroxy.check.*}). */
public record CheckSettings(Duration interval, int fall, int rise, Duration timeout, String path, String scheme,
        Duration fastinter, Duration downinter) {
}
