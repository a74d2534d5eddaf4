package io.patroxy.stats;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import io.patroxy.cluster.ClusterRegistry;
import io.patroxy.config.MemberAddress;
import io.patroxy.health.CheckOutcome;
import io.patroxy.health.CheckOutcomes;
import io.patroxy.proxy.SessionRegistry;

/** A two-member cluster whose checks the tests write by hand, at seconds after {@link #T0}, fall 3 / rise 2. */
final class Fixtures {

    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    final List<MemberAddress> members = MemberAddress.parseList("pg0=10.0.0.1:5432:8008,pg1=10.0.0.2:5432:8008");
    final ClusterRegistry cluster = new ClusterRegistry(members, 3, 2, Clock.fixed(T0, ZoneOffset.UTC));
    final SessionRegistry sessions = new SessionRegistry(members, 100, () -> null, s -> { });
    final LeaderHistory leaders = new LeaderHistory(LeaderHistory.DEFAULT_CAPACITY, Clock.fixed(T0, ZoneOffset.UTC));
    final UpTransitions ups = new UpTransitions(List.of("pg0", "pg1"));

    Fixtures() {
        cluster.addListener(sessions);
        cluster.addListener(leaders);
        cluster.addListener(ups);
    }

    static Instant at(long second) {
        return T0.plusSeconds(second);
    }

    void primary(String member, long timeline, long second) {
        cluster.record(member, CheckOutcomes.fromResponse(200, "{\"role\":\"master\",\"timeline\":" + timeline + "}",
                Duration.ofMillis(3), at(second)));
    }

    void replica(String member, long second) {
        cluster.record(member, CheckOutcomes.fromResponse(503, "{\"role\":\"replica\",\"timeline\":1}",
                Duration.ofMillis(2), at(second)));
    }

    void refused(String member, long second) {
        CheckOutcome o = CheckOutcomes.fromError(new java.net.ConnectException("Connection refused"),
                Duration.ofMillis(1), at(second));
        cluster.record(member, o);
    }

    StatsSnapshot snapshot(long second) {
        return StatsSnapshots.capture(new StatsSnapshots.Info("postgres", "1.2.3", 4242, T0), cluster.view(), sessions,
                leaders, ups, at(second));
    }
}
