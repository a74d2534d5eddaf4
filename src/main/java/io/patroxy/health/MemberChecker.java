package io.patroxy.health;

import java.time.Duration;
import java.time.Instant;
import java.util.function.Consumer;
import java.util.function.Supplier;

import io.patroxy.config.MemberAddress;

/**
 * Checks one member forever, by HAProxy's rule: the next check starts {@code interval} after the
 * previous one <em>ended</em>. So checks of one member never overlap (Patroni's REST API has few
 * worker threads: at most one request of ours is in flight per member) and a hanging API only
 * stretches the cycle by the check timeout.
 */
public final class MemberChecker {

    private final MemberAddress member;
    private final HealthProbe probe;
    private final Scheduler scheduler;
    private final Supplier<Duration> interval;
    private final Consumer<CheckOutcome> results;
    private volatile boolean stopped;
    private volatile Scheduler.Cancellable next;

    public MemberChecker(MemberAddress member, HealthProbe probe, Scheduler scheduler,
            Supplier<Duration> interval, Consumer<CheckOutcome> results) {
        this.member = member;
        this.probe = probe;
        this.scheduler = scheduler;
        this.interval = interval;
        this.results = results;
    }

    public MemberAddress member() {
        return member;
    }

    /** Starts with a check right away: the first result decides the member's state. */
    public void start() {
        next = scheduler.schedule(Duration.ZERO, this::runCheck);
    }

    public void stop() {
        stopped = true;
        Scheduler.Cancellable pending = next;
        if (pending != null) {
            pending.cancel();
        }
    }

    private void runCheck() {
        if (stopped) {
            return;
        }
        probe.check().whenComplete((outcome, error) -> {
            if (stopped) {
                return;
            }
            try {
                results.accept(outcome != null ? outcome
                        : new CheckOutcome(CheckStatus.SOCKERR, -1, Duration.ZERO, String.valueOf(error),
                                PatroniStatus.UNKNOWN, Instant.now()));
            } finally {
                next = scheduler.schedule(interval.get(), this::runCheck);
            }
        });
    }
}
