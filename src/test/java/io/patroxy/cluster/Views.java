package io.patroxy.cluster;

import java.time.Duration;
import java.time.Instant;

import io.patroxy.health.CheckOutcome;
import io.patroxy.health.CheckOutcomes;

/** Test fixtures: check outcomes as a Patroni member answers them. */
final class Views {

    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private Views() {
    }

    static CheckOutcome primary(long timeline, long atSecond) {
        return CheckOutcomes.fromResponse(200, "{\"role\":\"master\",\"timeline\":" + timeline + "}",
                Duration.ofMillis(3), T0.plusSeconds(atSecond));
    }

    static CheckOutcome replica(long atSecond) {
        return CheckOutcomes.fromResponse(503, "{\"role\":\"replica\",\"timeline\":1}", Duration.ofMillis(3), T0.plusSeconds(atSecond));
    }

    static CheckOutcome timedOut(long atSecond) {
        return new CheckOutcome(io.patroxy.health.CheckStatus.L7TOUT, -1, Duration.ofSeconds(5), "timeout",
                io.patroxy.health.PatroniStatus.UNKNOWN, T0.plusSeconds(atSecond));
    }

    static CheckOutcome refused(long atSecond) {
        return CheckOutcomes.fromError(new java.net.ConnectException("Connection refused"), Duration.ofMillis(1), T0.plusSeconds(atSecond));
    }
}
