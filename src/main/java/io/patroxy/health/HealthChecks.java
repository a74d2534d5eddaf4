package io.patroxy.health;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;

import io.patroxy.config.MemberAddress;
import io.quarkus.rest.client.reactive.QuarkusRestClientBuilder;
import io.vertx.core.Vertx;
import io.patroxy.config.CheckSettings;

/**
 * Starts one {@link MemberChecker} per member. Checkers only report, through a narrow port:
 * {@code report} takes each outcome (the cluster registry, a floor above, turns them into
 * snapshots) and {@code pace} says how long after one check of a member its next begins.
 */
public final class HealthChecks {

    private final List<MemberChecker> checkers = new ArrayList<>();

    private HealthChecks() {
    }

    public static HealthChecks start(Vertx vertx, List<MemberAddress> members, CheckSettings check,
            Duration connectTimeout, Function<String, Duration> pace, BiConsumer<String, CheckOutcome> report) {
        PatroniApi api = patroniApi(check, connectTimeout);
        Scheduler scheduler = vertxScheduler(vertx);
        HealthChecks checks = new HealthChecks();
        for (MemberAddress m : members) {
            String url = check.scheme() + "://" + m.host() + ":" + m.apiPort() + check.path();
            MemberChecker checker = new MemberChecker(m, new PatroniProbe(api, url, check.timeout()), check.timeout(),
                    scheduler, () -> pace.apply(m.name()), outcome -> report.accept(m.name(), outcome));
            checks.checkers.add(checker);
            checker.start();
        }
        return checks;
    }

    /** The REST client every member's probe shares; it needs a running Quarkus application (ArC). */
    static PatroniApi patroniApi(CheckSettings check, Duration connectTimeout) {
        Duration connect = min(connectTimeout, min(check.interval(), check.timeout()));
        return QuarkusRestClientBuilder.newBuilder()
                .baseUri(URI.create(check.scheme() + "://127.0.0.1"))
                .connectTimeout(connect.toMillis(), TimeUnit.MILLISECONDS)
                .readTimeout(check.timeout().toMillis(), TimeUnit.MILLISECONDS)
                .property("microprofile.rest.client.disable.default.mapper", true)
                .build(PatroniApi.class);
    }

    static Scheduler vertxScheduler(Vertx vertx) {
        return (delay, task) -> {
            long id = vertx.setTimer(Math.max(1, delay.toMillis()), t -> task.run());
            return () -> vertx.cancelTimer(id);
        };
    }

    public void stop() {
        checkers.forEach(MemberChecker::stop);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
