package io.patroxy.health;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.patroxy.config.MemberAddress;

/**
 * Checks one member forever, by HAProxy's rule: the next check starts {@code interval} after the
 * previous one <em>ended</em>. So checks of one member never overlap (Patroni's REST API has few
 * worker threads: at most one request of ours is in flight per member) and a hanging API only
 * stretches the cycle by the check timeout.
 *
 * <p>The invariant: <b>every check ends in exactly one outcome, and the loop goes on</b>, whatever
 * the probe, the interval policy or the results consumer do. A frozen loop would freeze the
 * member's last state, and an UP leader would stay routable forever. So a probe that throws or
 * returns nothing is a failed check ({@code SOCKERR}); a probe that has not ended by the check
 * timeout plus {@link #WATCHDOG_SLACK} is an {@code L7TOUT} and is cancelled, and its late result,
 * if any, is ignored.
 */
public final class MemberChecker {

    private static final Logger LOG = Logger.getLogger(MemberChecker.class);

    /** The probe's own timeout should fire first; the watchdog is for a probe that breaks its promise. */
    static final Duration WATCHDOG_SLACK = Duration.ofMillis(500);
    /** While checks are paused (MAINT), how often the checker looks whether they may resume: no probe, a timer only. */
    static final Duration PAUSED_POLL = Duration.ofMillis(100);

    private final MemberAddress member;
    private final HealthProbe probe;
    private final Duration timeout;
    private final Scheduler scheduler;
    private final Supplier<Duration> interval;
    private final Consumer<CheckOutcome> results;
    private final java.util.function.BooleanSupplier paused;
    private volatile boolean stopped;
    private volatile Scheduler.Cancellable next;
    private volatile Duration lastInterval;
    /** Which scheduled check may run: a rescheduled one (see {@link #hurry}) makes the one it replaced a no-op. */
    private long generation; // guarded by this
    private boolean inFlight; // guarded by this

    /**
     * @param timeout  the check timeout the probe promises to honour
     * @param interval when the next check starts after one ended; if it fails, the last interval it gave
     *                 (or {@code timeout}, before any) is used
     */
    public MemberChecker(MemberAddress member, HealthProbe probe, Duration timeout, Scheduler scheduler,
            Supplier<Duration> interval, Consumer<CheckOutcome> results) {
        this(member, probe, timeout, scheduler, interval, results, () -> false);
    }

    /**
     * @param paused while true, no check starts (HAProxy's checks paused in MAINT); the first one
     *               starts within {@link #PAUSED_POLL} once it is false again
     */
    public MemberChecker(MemberAddress member, HealthProbe probe, Duration timeout, Scheduler scheduler,
            Supplier<Duration> interval, Consumer<CheckOutcome> results, java.util.function.BooleanSupplier paused) {
        this.paused = paused;
        this.member = member;
        this.probe = probe;
        this.timeout = timeout;
        this.scheduler = scheduler;
        this.interval = interval;
        this.results = results;
        this.lastInterval = timeout;
    }

    public MemberAddress member() {
        return member;
    }

    /** Starts with a check right away: the first result decides the member's state. */
    public void start() {
        schedule(Duration.ZERO);
    }

    /**
     * Checks right away instead of at the scheduled time (Patroni's DCS says the leader moved); a
     * check in flight is left to end, so checks of one member still never overlap.
     */
    public synchronized void hurry() {
        if (stopped || inFlight) {
            return;
        }
        Scheduler.Cancellable pending = next;
        if (pending != null) {
            pending.cancel();
        }
        schedule(Duration.ZERO);
    }

    private synchronized void schedule(Duration delay) {
        long g = ++generation;
        next = scheduler.schedule(delay, () -> runCheck(g));
    }

    public void stop() {
        stopped = true;
        Scheduler.Cancellable pending = next;
        if (pending != null) {
            pending.cancel();
        }
    }

    private void runCheck(long g) {
        boolean paused = isPaused();
        synchronized (this) {
            if (stopped || g != generation || inFlight) {
                return; // replaced by a hurried check (whose cancel came too late for the timer)
            }
            if (paused) {
                schedule(PAUSED_POLL); // no probe while paused; look again shortly
                return;
            }
            inFlight = true;
        }
        Check check = new Check(System.nanoTime());
        check.watchdog = scheduler.schedule(timeout.plus(WATCHDOG_SLACK), check::timedOut);
        try {
            check.probe = probe.check();
        } catch (Throwable e) { // a broken probe is a failed check, never the end of the loop
            check.end(check.failed("probe threw " + e));
            return;
        }
        if (check.probe == null) {
            check.end(check.failed("probe returned no result"));
            return;
        }
        check.probe.whenComplete((outcome, error) -> check.end(outcome != null ? outcome
                : error != null ? CheckOutcomes.fromError(error, check.took(), Instant.now())
                : check.failed("probe completed with no outcome")));
    }

    /** One check in flight: whichever of the probe and the watchdog comes first ends it. */
    private final class Check {
        final long startNanos;
        final AtomicBoolean ended = new AtomicBoolean();
        volatile Scheduler.Cancellable watchdog;
        volatile CompletionStage<CheckOutcome> probe;

        Check(long startNanos) {
            this.startNanos = startNanos;
        }

        void timedOut() {
            if (end(new CheckOutcome(CheckStatus.L7TOUT, -1, took(), "no outcome from the probe within the check timeout",
                    PatroniStatus.UNKNOWN, Instant.now()))) {
                cancelProbe(); // best effort: never two requests in flight for one member
            }
        }

        /** Reports the outcome and schedules the next check, once; false if the check had already ended. */
        boolean end(CheckOutcome outcome) {
            if (!ended.compareAndSet(false, true)) {
                return false;
            }
            Scheduler.Cancellable w = watchdog;
            if (w != null) {
                w.cancel();
            }
            if (stopped) {
                return true;
            }
            try {
                results.accept(outcome);
            } catch (RuntimeException e) {
                LOG.errorf(e, "member %s: recording the check outcome %s failed", member.name(), outcome.describe());
            } finally {
                Duration interval = nextInterval();
                synchronized (MemberChecker.this) {
                    inFlight = false;
                    schedule(interval);
                }
            }
            return true;
        }

        Duration took() {
            return Duration.ofNanos(System.nanoTime() - startNanos);
        }

        CheckOutcome failed(String detail) {
            return new CheckOutcome(CheckStatus.SOCKERR, -1, took(), detail, PatroniStatus.UNKNOWN, Instant.now());
        }

        private void cancelProbe() {
            CompletionStage<CheckOutcome> p = probe;
            if (p == null) {
                return;
            }
            try {
                p.toCompletableFuture().cancel(true);
            } catch (RuntimeException e) {
                LOG.debugf(e, "member %s: cannot cancel a timed-out check", member.name());
            }
        }
    }

    private boolean isPaused() {
        try {
            return paused.getAsBoolean();
        } catch (RuntimeException e) {
            LOG.errorf(e, "member %s: asking whether checks are paused failed; checking", member.name());
            return false;
        }
    }

    private Duration nextInterval() {
        try {
            Duration d = interval.get();
            if (d != null) {
                lastInterval = d;
                return d;
            }
            LOG.errorf("member %s: no check interval given; checking again after %s", member.name(), lastInterval);
        } catch (RuntimeException e) {
            LOG.errorf(e, "member %s: choosing the check interval failed; checking again after %s", member.name(), lastInterval);
        }
        return lastInterval;
    }
}
