package io.patroxy.stats;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

import io.patroxy.config.PatroxyConfig;

/** The probes at /q/health/live and /q/health/ready (SmallRye Health); never behind basic auth. */
final class ProbeChecks {

    private ProbeChecks() {
    }

    /** Live once the PostgreSQL listener is bound. */
    @Liveness
    @ApplicationScoped
    static class Listening implements HealthCheck {
        private final StatsEndpoint stats;

        Listening(StatsEndpoint stats) {
            this.stats = stats;
        }

        @Override
        public HealthCheckResponse call() {
            var proxy = stats.proxy();
            boolean bound = proxy.isPresent() && proxy.get().address() != null;
            var r = HealthCheckResponse.named("listener").status(bound);
            if (bound) {
                r.withData("address", proxy.get().address().getHostString() + ":" + proxy.get().address().getPort());
            }
            return r.build();
        }
    }

    /**
     * Ready while a leader is known: a client connecting now would be relayed
     * ({@code patroxy.health.ready-requires-leader=false}: ready once the listener is bound).
     */
    @Readiness
    @ApplicationScoped
    static class LeaderKnown implements HealthCheck {
        private final StatsEndpoint stats;
        private final boolean requireLeader;

        LeaderKnown(StatsEndpoint stats, PatroxyConfig config) {
            this.stats = stats;
            this.requireLeader = config.health().readyRequiresLeader();
        }

        @Override
        public HealthCheckResponse call() {
            var cluster = stats.proxy().map(ProxyStarted::cluster).orElse(null);
            String leader = cluster == null ? null : cluster.view().leaderName().orElse(null);
            boolean ready = cluster != null && (leader != null || !requireLeader);
            return HealthCheckResponse.named("leader").status(ready)
                    .withData("leader", leader == null ? "NONE" : leader)
                    .withData("requireLeader", requireLeader).build();
        }
    }
}
