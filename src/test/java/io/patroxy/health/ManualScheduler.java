package io.patroxy.health;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A scheduler driven by hand: tasks run when the test advances the clock. */
final class ManualScheduler implements Scheduler {

    record Pending(long at, Runnable task, boolean[] cancelled) {
    }

    private final List<Pending> pending = new ArrayList<>();
    private long now;
    final List<Long> scheduledDelays = new ArrayList<>();

    @Override
    public Cancellable schedule(Duration delay, Runnable task) {
        boolean[] cancelled = {false};
        scheduledDelays.add(delay.toMillis());
        pending.add(new Pending(now + delay.toMillis(), task, cancelled));
        return () -> cancelled[0] = true;
    }

    long now() {
        return now;
    }

    int pendingCount() {
        return (int) pending.stream().filter(p -> !p.cancelled()[0]).count();
    }

    /** Moves the clock forward, running every task that falls due, in order. */
    void advance(long millis) {
        long until = now + millis;
        while (true) {
            Pending next = pending.stream().filter(p -> p.at() <= until)
                    .min((a, b) -> Long.compare(a.at(), b.at())).orElse(null);
            if (next == null) {
                break;
            }
            pending.remove(next);
            now = Math.max(now, next.at());
            if (!next.cancelled()[0]) {
                next.task().run();
            }
        }
        now = until;
    }
}
