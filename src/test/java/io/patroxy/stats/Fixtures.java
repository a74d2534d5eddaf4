package io.patroxy.stats;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;

import io.patroxy.cluster.ClusterRegistry;
import io.patroxy.cluster.Routing;
import io.patroxy.config.ListenerSpec;
import io.patroxy.config.MemberAddress;
import io.patroxy.config.Role;
import io.patroxy.health.CheckOutcome;
import io.patroxy.health.CheckOutcomes;
import io.patroxy.proxy.CancelKeys;
import io.patroxy.proxy.SessionRegistry;

/**
 * One listener of a two-member cluster whose checks the tests write by hand, at seconds after
 * {@link #T0}, fall 3 / rise 2: by default {@code postgres} with role primary, as without
 * {@code patroxy.listeners}.
 */
final class Fixtures {

    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    static final Clock CLOCK = Clock.fixed(T0, ZoneOffset.UTC);

    final List<MemberAddress> members = MemberAddress.parseList("pg0=10.0.0.1:5432:8008,pg1=10.0.0.2:5432:8008");
    final ClusterRegistry cluster;
    final SessionRegistry sessions;
    final ListenerStats listener;
    final LeaderHistory leaders;
    final UpTransitions ups;

    Fixtures() {
        this("postgres", Role.PRIMARY, 5432);
    }

    Fixtures(String name, Role role, int port) {
        cluster = new ClusterRegistry(name, members, 3, 2, CLOCK, role.leaderRole());
        Routing routing = role.leaderRole() ? Routing.leader(name, cluster::view)
                : Routing.balanced(name, ListenerSpec.Balance.LEASTCONN, true, cluster::view, null);
        sessions = new SessionRegistry(members, 100, routing, new CancelKeys(), s -> { });
        cluster.addListener(sessions);
        listener = ListenerStats.follow(new ProxyStarted.Listener(name, role, role.path(), cluster, routing, sessions,
                new InetSocketAddress("127.0.0.1", port)), CLOCK);
        leaders = listener.history();
        ups = listener.ups();
    }

    static Instant at(long second) {
        return T0.plusSeconds(second);
    }

    /** Patroni's answer to /primary on the primary. */
    void primary(String member, long timeline, long second) {
        check(member, 200, "master", timeline, second);
    }

    /** Patroni's answer to /primary on a replica. */
    void replica(String member, long second) {
        check(member, 503, "replica", 1, second);
    }

    void check(String member, int code, String role, long timeline, long second) {
        cluster.record(member, CheckOutcomes.fromResponse(code,
                "{\"role\":\"" + role + "\",\"timeline\":" + timeline + "}", Duration.ofMillis(code == 200 ? 3 : 2),
                at(second)));
    }

    void refused(String member, long second) {
        CheckOutcome o = CheckOutcomes.fromError(new java.net.ConnectException("Connection refused"),
                Duration.ofMillis(1), at(second));
        cluster.record(member, o);
    }

    StatsSnapshot snapshot(long second) {
        return snapshot(second, this);
    }

    /** Several listeners' sections, in the order given. */
    static StatsSnapshot snapshot(long second, Fixtures... listeners) {
        return StatsSnapshots.capture(new StatsSnapshots.Info("1.2.3", 4242, T0),
                Arrays.stream(listeners).map(f -> f.listener).toList(), at(second));
    }
}
