package io.patroxy.health;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletionStage;

import jakarta.ws.rs.core.Response;

/** One member's check through the Quarkus REST client: GET {@code url}, 200 within {@code timeout}. */
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
        return api.get(url)
                .ifNoItem().after(timeout).fail() // cancels the request: never two in flight for one member
                .map(response -> {
                    try (response) {
                        return CheckOutcomes.fromResponse(response.getStatus(), body(response), since(start), Instant.now());
                    }
                })
                .onFailure().recoverWithItem(e -> CheckOutcomes.fromError(e, since(start), Instant.now()))
                .subscribeAsCompletionStage();
    }

    private static String body(Response response) {
        try {
            return response.hasEntity() ? response.readEntity(String.class) : null;
        } catch (RuntimeException e) {
            return null; // the status decides the check; an unreadable body only hides role/timeline
        }
    }

    private static Duration since(long start) {
        return Duration.ofNanos(System.nanoTime() - start);
    }
}
