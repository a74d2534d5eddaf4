package io.patroxy.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.patroxy.app.StubClusterResource;
import io.patroxy.config.MemberAddress;
import io.patroxy.health.MemberHealth.State;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.vertx.core.Vertx;
import io.patroxy.config.CheckSettings;

/**
 * A real {@link PatroniProbe} (Vert.x's HTTP client on Quarkus' Vert.x, built as {@link HealthChecks} builds it) driven by a {@link MemberChecker} on Vert.x timers against a
 * Patroni API that misbehaves. Every fault ends each check in a failure, so the member is DOWN after
 * {@code fall} failures and UP again after {@code rise} passes once the fault is gone; and faulty
 * checks leave no connection, file descriptor or thread behind.
 */
@QuarkusTest
@QuarkusTestResource(value = StubClusterResource.class, restrictToAnnotatedClass = true)
class PatroniProbeFaultsTest {

    private static final int FALL = 3;
    private static final int RISE = 2;
    private static final Duration TIMEOUT = Duration.ofMillis(300);
    private static final Duration INTERVAL = Duration.ofMillis(50);
    private static final CheckSettings CHECK = new CheckSettings(INTERVAL, FALL, RISE, TIMEOUT, "/primary", "http",
            INTERVAL, INTERVAL);
    /** fall checks that each last up to the watchdog, plus room for a loaded 2-core machine. */
    private static final Duration DOWN_WITHIN = TIMEOUT.plus(MemberChecker.WATCHDOG_SLACK).plus(INTERVAL)
            .multipliedBy(FALL).plusSeconds(3);

    /** What goes wrong, and the outcome each check must end in meanwhile. */
    enum Fault {
        HANG(FaultyPatroni.Fault.HANG, CheckStatus.L7TOUT),
        HTTP_500(FaultyPatroni.Fault.HTTP_500, CheckStatus.L7STS),
        ENDLESS_BODY(FaultyPatroni.Fault.ENDLESS_BODY, CheckStatus.L7TOUT),
        SHORT_BODY(FaultyPatroni.Fault.SHORT_BODY, CheckStatus.L7TOUT),
        RESET(FaultyPatroni.Fault.RESET, CheckStatus.SOCKERR),
        /** The member's API host name does not resolve. */
        UNRESOLVABLE_HOST(FaultyPatroni.Fault.NONE, CheckStatus.L4CON),
        /** The probe itself is broken: it throws instead of returning a stage. */
        PROBE_THROWS(FaultyPatroni.Fault.NONE, CheckStatus.SOCKERR);

        final FaultyPatroni.Fault stubFault;
        final CheckStatus status;

        Fault(FaultyPatroni.Fault stubFault, CheckStatus status) {
            this.stubFault = stubFault;
            this.status = status;
        }
    }

    /** One check's outcome and the member's health right after it. */
    record Step(CheckOutcome outcome, MemberHealth health) {
    }

    /** A member under check: its steps in order, as the results consumer saw them. */
    static final class Watched {
        final List<Step> steps = new CopyOnWriteArrayList<>();
        private MemberHealth health = MemberHealth.initial(FALL, RISE);

        synchronized void record(CheckOutcome outcome) {
            health = health.next(outcome.passed());
            steps.add(new Step(outcome, health));
        }

        synchronized State state() {
            return health.state();
        }
    }

    @Inject
    Vertx vertx;

    private PatroniApi api;
    private final List<FaultyPatroni> stubs = new ArrayList<>();
    private final List<MemberChecker> checkers = new ArrayList<>();

    @BeforeEach
    void client() {
        api = HealthChecks.patroniApi(vertx, CHECK, Duration.ofSeconds(1));
    }

    @AfterEach
    void cleanUp() throws IOException {
        checkers.forEach(MemberChecker::stop);
        for (FaultyPatroni s : stubs) {
            s.close();
        }
        api.close();
    }

    private FaultyPatroni stub() throws IOException {
        FaultyPatroni s = new FaultyPatroni();
        stubs.add(s);
        return s;
    }

    /** Checks {@code stub}'s API; while {@code faulty}, checks go wrong as {@code fault} says. */
    private HealthProbe probe(FaultyPatroni stub, Fault fault, AtomicBoolean faulty) {
        HealthProbe healthy = new PatroniProbe(api, stub.url(), TIMEOUT);
        HealthProbe unresolvable = new PatroniProbe(api, "http://nonexistent.invalid:" + stub.port() + "/primary", TIMEOUT);
        return () -> {
            if (!faulty.get()) {
                return healthy.check();
            }
            return switch (fault) {
                case UNRESOLVABLE_HOST -> unresolvable.check();
                case PROBE_THROWS -> throw new IllegalStateException("probe bug");
                default -> healthy.check();
            };
        };
    }

    private Watched watch(HealthProbe probe, Duration interval) {
        Watched member = new Watched();
        MemberChecker checker = new MemberChecker(MemberAddress.parse("m" + checkers.size() + "=127.0.0.1"), probe,
                TIMEOUT, HealthChecks.vertxScheduler(vertx), () -> interval, member::record);
        checkers.add(checker);
        checker.start();
        return member;
    }

    @ParameterizedTest
    @EnumSource(Fault.class)
    void aFaultTakesTheMemberDownAfterFallFailuresAndItComesBackAfterRisePasses(Fault fault) throws IOException {
        FaultyPatroni stub = stub();
        AtomicBoolean faulty = new AtomicBoolean();
        Watched member = watch(probe(stub, fault, faulty), INTERVAL);
        await().atMost(Duration.ofSeconds(5)).until(() -> member.state() == State.UP);

        stub.fault(fault.stubFault);
        faulty.set(true);
        await().atMost(DOWN_WITHIN).until(() -> member.state() == State.DOWN);
        List<Step> steps = List.copyOf(member.steps);
        int down = firstIndex(steps, State.DOWN);
        assertThat(steps.subList(down - FALL + 1, down + 1)).as("the %d checks that took it down", FALL)
                .allSatisfy(s -> assertThat(s.outcome().status()).isEqualTo(fault.status));
        assertThat(steps.get(down - FALL).outcome().passed()).as("a pass before the fall").isTrue();
        if (fault == Fault.HTTP_500) {
            assertThat(steps.get(down).outcome().httpCode()).isEqualTo(500);
        }
        if (fault == Fault.PROBE_THROWS) {
            assertThat(steps.get(down).outcome().detail()).isEqualTo("probe threw java.lang.IllegalStateException: probe bug");
        }

        faulty.set(false);
        stub.fault(FaultyPatroni.Fault.NONE);
        await().atMost(Duration.ofSeconds(5)).until(() -> member.state() == State.UP);
        steps = List.copyOf(member.steps);
        int up = firstIndexAfter(steps, down, State.UP);
        assertThat(steps.subList(up - RISE + 1, up + 1)).as("the %d checks that brought it back", RISE)
                .allSatisfy(s -> assertThat(s.outcome().passed()).isTrue());
        assertThat(steps.get(up - RISE).outcome().passed()).isFalse();
        assertThat(steps.get(up).outcome().patroni().isPrimary()).isTrue();
    }

    @Test
    void a200WithAGarbageBodyPassesAsHaproxysStatusCheckDoesButTellsNoRole() throws Exception {
        FaultyPatroni stub = stub();
        stub.fault(FaultyPatroni.Fault.GARBAGE_200);
        CheckOutcome outcome = new PatroniProbe(api, stub.url(), TIMEOUT).check().toCompletableFuture()
                .get(5, TimeUnit.SECONDS);
        assertThat(outcome.status()).isEqualTo(CheckStatus.L7OK);
        assertThat(outcome.patroni()).isEqualTo(PatroniStatus.UNKNOWN);
    }

    @Test
    void fiftyFaultyChecksLeaveNoConnectionFileDescriptorOrThreadBehind() throws Exception {
        List<Fault> faults = List.of(Fault.HANG, Fault.HTTP_500, Fault.ENDLESS_BODY, Fault.SHORT_BODY, Fault.RESET,
                Fault.UNRESOLVABLE_HOST, Fault.PROBE_THROWS);
        List<HealthProbe> probes = new ArrayList<>();
        List<FaultyPatroni> faultyStubs = new ArrayList<>();
        for (Fault f : faults) {
            FaultyPatroni s = stub();
            s.fault(f.stubFault);
            faultyStubs.add(s);
            probes.add(probe(s, f, new AtomicBoolean(true)));
        }
        // one check of each first, so the client's event loops and pools exist before the baseline
        for (HealthProbe p : probes) {
            try {
                p.check().toCompletableFuture().get(5, TimeUnit.SECONDS);
            } catch (IllegalStateException expected) {
                // PROBE_THROWS
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> faultyStubs.stream().allMatch(s -> s.openConnections() == 0));
        long fdsBefore = openFileDescriptors();
        int threadsBefore = liveThreads();

        List<Watched> members = new ArrayList<>();
        for (int i = 0; i < faults.size(); i++) {
            // the name lookups go to the machine's resolver: a few, not one every 50 ms
            Duration interval = faults.get(i) == Fault.UNRESOLVABLE_HOST ? TIMEOUT : INTERVAL;
            members.add(watch(probes.get(i), interval));
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> members.stream().allMatch(m -> m.steps.size() >= 5)
                && members.stream().mapToInt(m -> m.steps.size()).sum() >= 50);
        checkers.forEach(MemberChecker::stop);
        for (int i = 0; i < faults.size(); i++) {
            Fault f = faults.get(i);
            assertThat(members.get(i).steps).as("%s", f).allSatisfy(s -> assertThat(s.outcome().status()).isEqualTo(f.status));
            assertThat(members.get(i).state()).as("%s", f).isEqualTo(State.DOWN);
        }

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(faultyStubs).as("connections the client left open")
                    .allSatisfy(s -> assertThat(s.openConnections()).isZero());
            assertThat(openFileDescriptors()).as("open fds, %d before", fdsBefore).isLessThanOrEqualTo(fdsBefore + 8);
            assertThat(liveThreads()).as("live threads, %d before", threadsBefore).isLessThanOrEqualTo(threadsBefore + 4);
        });
    }

    private static int firstIndex(List<Step> steps, State state) {
        return firstIndexAfter(steps, -1, state);
    }

    private static int firstIndexAfter(List<Step> steps, int after, State state) {
        for (int i = after + 1; i < steps.size(); i++) {
            if (steps.get(i).health().state() == state) {
                return i;
            }
        }
        throw new AssertionError("never " + state + ": " + steps);
    }

    private static long openFileDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    private static int liveThreads() {
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }
}
