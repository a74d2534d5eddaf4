package io.patroxy.health;

import java.util.concurrent.CompletionStage;

/**
 * One health check of one member. Implementations never block the caller, always complete
 * normally (a failure is a failing {@link CheckOutcome}, never an exception) and
 * never take much longer than the check timeout. {@link MemberChecker} does not rely on it: a probe
 * that throws, returns null or never ends still ends each check in one failing outcome.
 */
@FunctionalInterface
public interface HealthProbe {
    CompletionStage<CheckOutcome> check();
}
