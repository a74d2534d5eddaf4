package io.patroxy.stats;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

import io.patroxy.cluster.ClusterView;
import io.patroxy.cluster.Routing;
import io.patroxy.config.PatroxyConfig;
import io.smallrye.health.api.HealthRegistry;

/**
 * The probes at /q/health/live and /q/health/ready (SmallRye Health); never behind basic auth.
 * Live once every listener is bound; ready once Patroxy has started and, per listener (one check
 * each, named after it), while a client connecting to it now would be relayed.
 */
final class ProbeChecks {

    private ProbeChecks() {
    }

    /** Live once every PostgreSQL listener is bound; the data names each one's address. */
    @Liveness
    @ApplicationScoped
    static class Listening implements HealthCheck {
        private final StatsEndpoint stats;

        Listening(StatsEndpoint stats) {
            this.stats = stats;
        }

        @Override
        public HealthCheckResponse call() {
            var listeners = stats.listeners();
            HealthCheckResponseBuilder r = HealthCheckResponse.named("listener");
            boolean bound = !listeners.isEmpty();
            for (ListenerStats l : listeners) {
                bound &= l.address() != null;
                r.withData(l.name(), l.address() == null ? "not bound" : l.address());
            }
            return r.status(bound).build();
        }
    }

    /** DOWN until Patroxy has started its listeners; the per-listener checks join then. */
    @Readiness
    @ApplicationScoped
    static class Started implements HealthCheck {
        private final StatsEndpoint stats;

        Started(StatsEndpoint stats) {
            this.stats = stats;
        }

        @Override
        public HealthCheckResponse call() {
            return HealthCheckResponse.named("started").status(!stats.listeners().isEmpty()).build();
        }
    }

    /** Registers one readiness check per listener once the proxy has started. */
    @Singleton
    static class PerListener {
        private final HealthRegistry readiness;
        private final boolean requireLeader;

        PerListener(@Readiness HealthRegistry readiness, PatroxyConfig config) {
            this.readiness = readiness;
            this.requireLeader = config.health().readyRequiresLeader();
        }

        void onStart(@Observes ProxyStarted proxy) {
            for (ProxyStarted.Listener l : proxy.listeners()) {
                String name = "listener " + l.name();
                readiness.register(name, () -> check(name, l, requireLeader));
            }
        }
    }

    /**
     * Leader roles: ready while a leader is known ({@code patroxy.health.ready-requires-leader=false}:
     * once bound). Balanced roles: while a member is UP, or by fallback the leader.
     */
    static HealthCheckResponse check(String name, ProxyStarted.Listener l, boolean requireLeader) {
        ClusterView view = l.cluster().view();
        boolean routable = !Routing.candidates(l.routing().now()).isEmpty();
        HealthCheckResponseBuilder r = HealthCheckResponse.named(name).withData("role", l.role().label());
        if (l.role().leaderRole()) {
            r.withData("leader", view.leaderName().orElse("NONE")).withData("requireLeader", requireLeader)
                    .status(routable || (!requireLeader && l.address() != null));
        } else {
            r.withData("upMembers", view.upCount()).status(routable);
        }
        return r.build();
    }
}
