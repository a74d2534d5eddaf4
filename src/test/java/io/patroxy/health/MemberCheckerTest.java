package io.patroxy.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import io.patroxy.config.MemberAddress;

/** HAProxy's scheduling rule: the next check starts {@code inter} after the previous one ended. */
class MemberCheckerTest {

    private final ManualScheduler scheduler = new ManualScheduler();
    private final List<CompletableFuture<CheckOutcome>> inFlight = new ArrayList<>();
    private final List<Long> startedAt = new ArrayList<>();
    private final List<CheckOutcome> results = new ArrayList<>();

    private MemberChecker checker() {
        HealthProbe probe = () -> {
            CompletableFuture<CheckOutcome> f = new CompletableFuture<>();
            inFlight.add(f);
            startedAt.add(scheduler.now());
            return f;
        };
        return new MemberChecker(MemberAddress.parse("n0=127.0.0.2"), probe, scheduler,
                () -> Duration.ofSeconds(3), results::add);
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
        scheduler.advance(60_000); // the API hangs: no second request in flight
        assertThat(startedAt).hasSize(1);
        assertThat(scheduler.pendingCount()).isZero();
        inFlight.get(0).complete(new CheckOutcome(CheckStatus.L7TOUT, -1, Duration.ofSeconds(5), "timeout",
                PatroniStatus.UNKNOWN, Instant.now()));
        scheduler.advance(3000);
        assertThat(startedAt).containsExactly(0L, 63_000L);
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
}
