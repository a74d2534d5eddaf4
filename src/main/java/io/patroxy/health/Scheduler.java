package io.patroxy.health;

import java.time.Duration;

/** Runs a task once after a delay; Vert.x timers in production, a manual clock in tests. */
@FunctionalInterface
public interface Scheduler {

    Cancellable schedule(Duration delay, Runnable task);

    @FunctionalInterface
    interface Cancellable {
        void cancel();
    }
}
