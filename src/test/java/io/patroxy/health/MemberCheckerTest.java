package io.patroxy.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;

import io.patroxy.config.MemberAddress;
import io.patroxy.cluster.IntervalPolicy;

/**
 * HAProxy's scheduling rule: the next check starts {@code inter} after the previous one ended; and
 * every check ends in exactly one outcome, whatever the probe, the interval policy or the results
 * consumer do (a frozen loop would keep an UP leader routable forever).
 */
class MemberCheckerTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final long WATCHDOG_MS = TIMEOUT.plus(MemberChecker.WATCHDOG_SLACK).toMillis();

    private final ManualScheduler scheduler = new ManualScheduler();
    private final List<CompletableFuture<CheckOutcome>> inFlight = new ArrayList<>();
    private final List<Long> startedAt = new ArrayList<>();
    private final List<CheckOutcome> results = new ArrayList<>();

    /** A probe whose checks the test ends by hand through {@link #inFlight}. */
    private CompletionStage<CheckOutcome> manualCheck() {
        CompletableFuture<CheckOutcome> f = new CompletableFuture<>();
        inFlight.add(f);
        startedAt.add(scheduler.now());
        return f;
    }

    private MemberChecker checker() {
        return checker(this::manualCheck, () -> Duration.ofSeconds(3), results::add);
    }

    private MemberChecker checker(HealthProbe probe, Supplier<Duration> interval, Consumer<CheckOutcome> consumer) {
        return new MemberChecker(MemberAddress.parse("n0=127.0.0.2"), probe, TIMEOUT, scheduler, interval, consumer);
    }

    private static CheckOutcome ok() {
        return new CheckOutcome(CheckStatus.L7OK, 200, Duration.ofMillis(5), "HTTP 200", PatroniStatus.UNKNOWN, Instant.now());
    }

    @Test
    void firstCheckRunsAtOnce() {
        checker().start();
        scheduler.advance(0);
        assertThat(startedAt).containsExactly(0L);
    }

    @Test
    void nextCheckStartsIntervalAfterThePreviousEnded() {
        checker().start();
        scheduler.advance(0);
        scheduler.advance(1200); // the check takes 1.2 s
        inFlight.get(0).complete(ok());
        scheduler.advance(2999);
        assertThat(startedAt).hasSize(1);
        scheduler.advance(1);
        assertThat(startedAt).containsExactly(0L, 4200L);
        assertThat(results).hasSize(1);
    }

    @Test
    void aHangingCheckNeverOverlapsTheNext() {
        checker().start();
        scheduler.advance(0);
        scheduler.advance(5000); // the API hangs: no second request in flight, only the watchdog waits
        assertThat(startedAt).hasSize(1);
        assertThat(scheduler.pendingCount()).isOne();
        inFlight.get(0).complete(new CheckOutcome(CheckStatus.L7TOUT, -1, TIMEOUT, "timeout",
                PatroniStatus.UNKNOWN, Instant.now())); // the probe's own timeout, as PatroniProbe's
        scheduler.advance(3000);
        assertThat(startedAt).containsExactly(0L, 8000L);
        assertThat(results).singleElement().extracting(CheckOutcome::status).isEqualTo(CheckStatus.L7TOUT);
    }

    @Test
    void aProbeThatFailsExceptionallyStillCountsAsAFailedCheckAndGoesOn() {
        checker().start();
        scheduler.advance(0);
        inFlight.get(0).completeExceptionally(new IllegalStateException("boom"));
        assertThat(results).singleElement().satisfies(o -> {
            assertThat(o.passed()).isFalse();
            assertThat(o.status()).isEqualTo(CheckStatus.SOCKERR);
        });
        scheduler.advance(3000);
        assertThat(startedAt).hasSize(2);
    }

    @Test
    void stopCancelsTheNextCheck() {
        MemberChecker c = checker();
        c.start();
        scheduler.advance(0);
        inFlight.get(0).complete(ok());
        c.stop();
        scheduler.advance(10_000);
        assertThat(startedAt).hasSize(1);
    }

    @Test
    void aProbeThatThrowsIsAFailedCheckAndTheLoopGoesOn() {
        AtomicInteger calls = new AtomicInteger();
        checker(() -> {
            if (calls.getAndIncrement() == 0) {
                throw new IllegalStateException("boom");
            }
            return manualCheck();
        }, () -> Duration.ofSeconds(3), results::add).start();
        scheduler.advance(0);
        assertThat(results).singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo(CheckStatus.SOCKERR);
            assertThat(o.detail()).isEqualTo("probe threw java.lang.IllegalStateException: boom");
        });
        scheduler.advance(3000);
        assertThat(startedAt).containsExactly(3000L);
        inFlight.get(0).complete(ok());
        assertThat(results).extracting(CheckOutcome::passed).containsExactly(false, true);
    }

    @Test
    void aProbeThatReturnsNoStageIsAFailedCheckAndTheLoopGoesOn() {
        AtomicInteger calls = new AtomicInteger();
        checker(() -> calls.incrementAndGet() == 1 ? null : manualCheck(), () -> Duration.ofSeconds(3), results::add).start();
        scheduler.advance(0);
        assertThat(results).singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo(CheckStatus.SOCKERR);
            assertThat(o.detail()).isEqualTo("probe returned no result");
        });
        scheduler.advance(3000);
        assertThat(startedAt).containsExactly(3000L);
    }

    @Test
    void aProbeThatNeverEndsIsTimedOutByTheWatchdogAndCancelled() {
        checker().start();
        scheduler.advance(0);
        scheduler.advance(WATCHDOG_MS - 1);
        assertThat(results).isEmpty();
        scheduler.advance(1);
        assertThat(results).singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo(CheckStatus.L7TOUT);
            assertThat(o.detail()).isEqualTo("no outcome from the probe within the check timeout");
        });
        assertThat(inFlight.get(0)).isCancelled(); // the request is abandoned: never two in flight
        scheduler.advance(3000);
        assertThat(startedAt).containsExactly(0L, WATCHDOG_MS + 3000);
    }

    @Test
    void aLateOutcomeAfterTheWatchdogIsIgnored() {
        // a stage that cannot be cancelled from outside: its late result still arrives
        checker(() -> manualCheck().toCompletableFuture().minimalCompletionStage(), () -> Duration.ofSeconds(3),
                results::add).start();
        scheduler.advance(WATCHDOG_MS);
        assertThat(results).singleElement().extracting(CheckOutcome::status).isEqualTo(CheckStatus.L7TOUT);
        inFlight.get(0).complete(ok());
        assertThat(results).hasSize(1);
        scheduler.advance(3000);
        assertThat(startedAt).containsExactly(0L, WATCHDOG_MS + 3000); // one next check, not two
        assertThat(scheduler.pendingCount()).isOne(); // only the new check's watchdog
    }

    @Test
    void anEndedCheckCancelsItsWatchdog() {
        checker().start();
        scheduler.advance(0);
        inFlight.get(0).complete(ok());
        scheduler.advance(WATCHDOG_MS);
        assertThat(results).singleElement().extracting(CheckOutcome::passed).isEqualTo(true);
    }

    @Test
    void aResultsConsumerThatThrowsDoesNotEndTheLoop() {
        checker(this::manualCheck, () -> Duration.ofSeconds(3), outcome -> {
            results.add(outcome);
            throw new IllegalStateException("registry broken");
        }).start();
        scheduler.advance(0);
        inFlight.get(0).complete(ok());
        scheduler.advance(3000);
        inFlight.get(1).complete(ok());
        scheduler.advance(3000);
        assertThat(startedAt).containsExactly(0L, 3000L, 6000L);
        assertThat(results).hasSize(2);
    }

    @Test
    void anIntervalPolicyThatFailsKeepsTheLastIntervalAndTheLoopGoesOn() {
        AtomicInteger calls = new AtomicInteger();
        checker(this::manualCheck, () -> switch (calls.incrementAndGet()) {
            case 1 -> Duration.ofSeconds(2);
            case 2 -> throw new IllegalStateException("no view");
            case 3 -> null;
            default -> Duration.ofSeconds(1);
        }, results::add).start();
        for (int i = 0; i < 4; i++) {
            scheduler.advance(0);
            inFlight.get(i).complete(ok());
            scheduler.advance(2000);
        }
        assertThat(startedAt).containsExactly(0L, 2000L, 4000L, 6000L, 7000L);
    }

    @Test
    void anIntervalPolicyThatFailsFromTheStartFallsBackToTheTimeout() {
        checker(this::manualCheck, () -> {
            throw new IllegalStateException("no view");
        }, results::add).start();
        scheduler.advance(0);
        inFlight.get(0).complete(ok());
        scheduler.advance(TIMEOUT.toMillis());
        assertThat(startedAt).containsExactly(0L, TIMEOUT.toMillis());
    }

    @Test
    void hurryChecksAtOnceInsteadOfAtTheScheduledTime() {
        MemberChecker checker = checker();
        checker.start();
        scheduler.advance(0);
        inFlight.get(0).complete(ok());
        scheduler.advance(100); // next check due at 3,000 ms after this one ended
        checker.hurry();
        scheduler.advance(0);
        assertThat(startedAt).containsExactly(0L, 100L);
        inFlight.get(1).complete(ok());
        scheduler.advance(3000); // the replaced timer never fires a second check: the pace goes on from the hurried one
        assertThat(startedAt).containsExactly(0L, 100L, 3100L);
    }

    @Test
    void hurryNeverOverlapsACheckInFlight() {
        MemberChecker checker = checker();
        checker.start();
        scheduler.advance(0);
        checker.hurry(); // a check is in flight: left to end, no second request to the member
        checker.hurry();
        scheduler.advance(50);
        assertThat(startedAt).containsExactly(0L);
        inFlight.get(0).complete(ok());
        scheduler.advance(2999);
        assertThat(startedAt).hasSize(1);
        scheduler.advance(1);
        assertThat(startedAt).containsExactly(0L, 3050L);
        assertThat(results).hasSize(1);
    }

    @Test
    void aStoppedCheckerIsNotHurried() {
        MemberChecker checker = checker();
        checker.start();
        scheduler.advance(0);
        inFlight.get(0).complete(ok());
        checker.stop();
        checker.hurry();
        scheduler.advance(10_000);
        assertThat(startedAt).containsExactly(0L);
    }
}
