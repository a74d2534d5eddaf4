package io.patroxy.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;

class PatroxyMetricsTest {

    private final Fixtures f = new Fixtures();
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    private final PatroxyMetrics metrics;

    PatroxyMetricsTest() {
        metrics = new PatroxyMetrics(List.of(f.listener), Clock.fixed(Fixtures.at(30), ZoneOffset.UTC), "1.2.3");
        metrics.bindTo(registry);
    }

    @Test
    void closeRemovesTheMetersSoANewApplicationBindsItsOwn() {
        metrics.close();
        assertThat(Scrape.of(registry.scrape()).has("patroxy_server_up")).isFalse();

        Fixtures next = new Fixtures();
        next.primary("pg1", 1, 0);
        new PatroxyMetrics(List.of(next.listener), Clock.fixed(Fixtures.at(30), ZoneOffset.UTC), "1.2.3")
                .bindTo(registry);
        assertThat(Scrape.of(registry.scrape()).value("patroxy_server_up", "server", "pg1")).isEqualTo(1);
    }

    /** Discovery: a member that joins gets its meters, one that leaves loses them. */
    @Test
    void membersThatJoinOrLeaveGetOrLoseTheirMeters() {
        f.cluster.setMembers(io.patroxy.config.MemberAddress.parseList("pg0=10.0.0.1:5432:8008,pg2=10.0.0.3:5432:8008"));
        Scrape s = Scrape.of(registry.scrape());
        assertThat(s.value("patroxy_server_up", "server", "pg2")).isZero();
        assertThat(s.has("patroxy_server_up", "server", "pg1")).as("pg1 left").isFalse();
        f.primary("pg2", 2, 3);
        assertThat(Scrape.of(registry.scrape()).value("patroxy_server_up", "server", "pg2")).isEqualTo(1);
    }

    @Test
    void namesAreUnderPatroxyInBaseUnitsWithServerLabels() {
        f.replica("pg1", 0);
        f.primary("pg0", 1, 10);
        Scrape s = Scrape.of(registry.scrape());

        assertThat(s.value("patroxy_server_status", "server", "pg0", "state", "UP")).isEqualTo(1);
        assertThat(s.value("patroxy_server_status", "server", "pg0", "state", "DOWN")).isZero();
        assertThat(s.value("patroxy_server_status", "server", "pg1", "state", "DOWN")).isEqualTo(1);
        assertThat(s.value("patroxy_server_up", "server", "pg0")).isEqualTo(1);
        assertThat(s.value("patroxy_server_up", "server", "pg1")).isZero();
        assertThat(s.value("patroxy_server_leader", "server", "pg0")).isEqualTo(1);
        assertThat(s.value("patroxy_server_check_duration_seconds", "server", "pg0")).isEqualTo(0.003);
        assertThat(s.value("patroxy_server_check_failures_total", "server", "pg1")).isEqualTo(1);
        assertThat(s.value("patroxy_server_downtime_seconds_total", "server", "pg1")).isEqualTo(30);
        assertThat(s.value("patroxy_server_transitions_total", "server", "pg0", "to", "down")).isZero();
        assertThat(s.value("patroxy_server_sessions_current", "server", "pg0")).isZero();
        assertThat(s.value("patroxy_server_sessions_total", "server", "pg0")).isZero();
        assertThat(s.value("patroxy_server_bytes_total", "server", "pg0", "direction", "client_to_server")).isZero();
        assertThat(s.value("patroxy_server_connect_errors_total", "server", "pg0")).isZero();
        assertThat(s.value("patroxy_refused_connections_total")).isZero();
        assertThat(s.value("patroxy_held_connections_total")).isZero();
        assertThat(s.value("patroxy_session_closes_total", "cause", "member_down")).isZero();
        assertThat(s.value("patroxy_sessions_limit")).isEqualTo(100);
        assertThat(s.value("patroxy_leader_known")).isEqualTo(1);
        assertThat(s.value("patroxy_leader_changes_total")).isEqualTo(1);
        assertThat(s.value("patroxy_no_leader_seconds_total")).isEqualTo(10);
        assertThat(s.value("patroxy_info", "version", "1.2.3")).isEqualTo(1);
        assertThat(s.samples()).filteredOn(x -> x.name().startsWith("patroxy_") && !x.name().equals("patroxy_info"))
                .isNotEmpty().allSatisfy(x -> assertThat(x.labels()).containsEntry("listener", "postgres"));
    }

    @Test
    void eachListenerHasItsOwnMetersAndOnlyLeaderRolesHaveLeaderMeters() {
        Fixtures replicas = new Fixtures("replicas", io.patroxy.config.Role.REPLICA, 5433);
        PrometheusMeterRegistry both = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new PatroxyMetrics(List.of(f.listener, replicas.listener), Clock.fixed(Fixtures.at(30), ZoneOffset.UTC), "1.2.3")
                .bindTo(both);
        f.primary("pg0", 1, 0);
        f.replica("pg1", 0);
        replicas.check("pg0", 503, "master", 1, 0);
        replicas.check("pg1", 200, "replica", 1, 0);
        Scrape s = Scrape.of(both.scrape());

        assertThat(s.value("patroxy_server_up", "listener", "postgres", "server", "pg0")).isEqualTo(1);
        assertThat(s.value("patroxy_server_up", "listener", "postgres", "server", "pg1")).isZero();
        assertThat(s.value("patroxy_server_up", "listener", "replicas", "server", "pg0")).isZero();
        assertThat(s.value("patroxy_server_up", "listener", "replicas", "server", "pg1")).isEqualTo(1);
        assertThat(s.value("patroxy_backend_up", "listener", "postgres")).isEqualTo(1);
        assertThat(s.value("patroxy_backend_up", "listener", "replicas")).isEqualTo(1);
        assertThat(s.value("patroxy_sessions_limit", "listener", "replicas")).isEqualTo(100);
        assertThat(s.value("patroxy_leader_known", "listener", "postgres")).isEqualTo(1);
        assertThat(s.samples()).filteredOn(x -> x.name().startsWith("patroxy_leader") || x.name().equals("patroxy_server_leader"))
                .noneSatisfy(x -> assertThat(x.labels()).containsEntry("listener", "replicas"));
    }

    @Test
    void followTheClusterWithoutBeingTold() {
        f.primary("pg0", 1, 0);
        f.refused("pg0", 1);
        Scrape s = Scrape.of(registry.scrape());
        assertThat(s.value("patroxy_server_status", "server", "pg0", "state", "UP_GOING_DOWN")).isEqualTo(1);
        f.refused("pg0", 2);
        f.refused("pg0", 3);
        f.primary("pg0", 1, 4);
        f.primary("pg0", 1, 5);
        s = Scrape.of(registry.scrape());
        assertThat(s.value("patroxy_server_transitions_total", "server", "pg0", "to", "down")).isEqualTo(1);
        assertThat(s.value("patroxy_server_transitions_total", "server", "pg0", "to", "up")).isEqualTo(1);
        assertThat(s.value("patroxy_server_check_failures_total", "server", "pg0")).isEqualTo(3);
        assertThat(s.value("patroxy_leader_changes_total")).isEqualTo(2);
        assertThat(s.value("patroxy_no_leader_seconds_total")).isEqualTo(2);
    }
}
