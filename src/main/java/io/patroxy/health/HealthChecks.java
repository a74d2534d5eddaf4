package io.patroxy.health;

import java.time.Duration;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

import io.patroxy.config.MemberAddress;
import io.vertx.core.Vertx;
import io.patroxy.config.CheckSettings;

/**
 * Starts one {@link MemberChecker} per member. Checkers only report, through a narrow port:
 * {@code report} takes each outcome (the cluster registry, a floor above, turns them into
 * snapshots) and {@code pace} says how long after one check of a member its next begins.
 */
public final class HealthChecks {

    private final java.util.Map<MemberAddress, MemberChecker> checkers = new java.util.LinkedHashMap<>();
    private final PatroniApi api;
    private final Scheduler scheduler;
    private final CheckSettings check;
    private final Function<String, Duration> pace;
    private final BiConsumer<String, CheckOutcome> report;
    private final java.util.function.Predicate<String> paused;

    private HealthChecks(PatroniApi api, Scheduler scheduler, CheckSettings check, Function<String, Duration> pace,
            BiConsumer<String, CheckOutcome> report, java.util.function.Predicate<String> paused) {
        this.paused = paused;
        this.api = api;
        this.scheduler = scheduler;
        this.check = check;
        this.pace = pace;
        this.report = report;
    }

    /** @param paused whether a member's checks are paused now (an administrator put it in MAINT) */
    public static HealthChecks start(Vertx vertx, List<MemberAddress> members, CheckSettings check,
            Duration connectTimeout, Function<String, Duration> pace, BiConsumer<String, CheckOutcome> report,
            java.util.function.Predicate<String> paused) {
        HealthChecks checks = new HealthChecks(patroniApi(vertx, check, connectTimeout), vertxScheduler(vertx), check, pace, report,
                paused);
        checks.setMembers(members);
        return checks;
    }

    /** Checks exactly {@code members} from now on: new ones start at once, gone ones stop. */
    public synchronized void setMembers(List<MemberAddress> members) {
        checkers.entrySet().removeIf(e -> {
            if (!members.contains(e.getKey())) {
                e.getValue().stop();
                return true;
            }
            return false;
        });
        for (MemberAddress m : members) {
            checkers.computeIfAbsent(m, this::startChecker);
        }
    }

    private MemberChecker startChecker(MemberAddress m) {
        String url = check.scheme() + "://" + m.host() + ":" + m.apiPort() + check.path();
        MemberChecker checker = new MemberChecker(m, new PatroniProbe(api, url, check.timeout()), check.timeout(),
                scheduler, () -> pace.apply(m.name()), outcome -> report.accept(m.name(), outcome),
                () -> paused.test(m.name()));
        checker.start();
        return checker;
    }

    /**
     * Patroni's {@code /cluster} of {@code member}, for discovery: the body of a 200 within the
     * check timeout, else a failed stage.
     */
    public static Function<MemberAddress, java.util.concurrent.CompletionStage<String>> clusterFetcher(Vertx vertx,
            CheckSettings check, Duration connectTimeout) {
        PatroniApi api = patroniApi(vertx, check, connectTimeout);
        return m -> api.get(check.scheme() + "://" + m.host() + ":" + m.apiPort() + "/cluster", check.timeout())
                .thenApply(answer -> {
                    if (answer.status() != 200) {
                        throw new IllegalStateException("HTTP " + answer.status());
                    }
                    return answer.body();
                });
    }

    /**
     * The Patroni API client every member's probe shares (a channel per check on Quarkus' Vert.x
     * event loops); its connect timeout is HAProxy's for checks, min(connect timeout, interval, check timeout).
     */
    static PatroniApi patroniApi(Vertx vertx, CheckSettings check, Duration connectTimeout) {
        return new PatroniApi(vertx, min(connectTimeout, min(check.interval(), check.timeout())));
    }

    public static Scheduler vertxScheduler(Vertx vertx) {
        return (delay, task) -> {
            long id = vertx.setTimer(Math.max(1, delay.toMillis()), t -> task.run());
            return () -> vertx.cancelTimer(id);
        };
    }

    /** Every member is checked right away (one being checked now is left to end): see {@link MemberChecker#hurry}. */
    public synchronized void hurry() {
        checkers.values().forEach(MemberChecker::hurry);
    }

    public synchronized void stop() {
        checkers.values().forEach(MemberChecker::stop);
        api.close();
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
