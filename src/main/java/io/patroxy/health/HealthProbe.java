package io.patroxy.health;

import java.util.concurrent.CompletionStage;

/**
 * One health check of one member. Implementations never block the caller, always complete
 * normally (a failure is a failing {@link CheckOutcome}, never an exception) and
 * never take much longer than the check timeout.
 */
@FunctionalInterface
public interface HealthProbe {
    CompletionStage<CheckOutcome> check();
}
