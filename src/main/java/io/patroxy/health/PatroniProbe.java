package io.patroxy.health;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletionStage;

/** One member's check: GET {@code url}, 200 within {@code timeout}. */
final class PatroniProbe implements HealthProbe {

    private final PatroniApi api;
    private final String url;
    private final Duration timeout;

    PatroniProbe(PatroniApi api, String url, Duration timeout) {
        this.api = api;
        this.url = url;
        this.timeout = timeout;
    }

    @Override
    public CompletionStage<CheckOutcome> check() {
        long start = System.nanoTime();
        return api.get(url, timeout).handle((answer, error) -> error == null
                ? CheckOutcomes.fromResponse(answer.status(), answer.body(), since(start), Instant.now())
                : CheckOutcomes.fromError(error, since(start), Instant.now()));
    }

    private static Duration since(long start) {
        return Duration.ofNanos(System.nanoTime() - start);
    }
}
