package io.patroxy.app;

import java.net.InetSocketAddress;
import java.time.Clock;

import jakarta.enterprise.event.Event;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.patroxy.cluster.ClusterRegistry;
import io.patroxy.cluster.IntervalPolicy;
import io.patroxy.config.CheckSettings;
import io.patroxy.config.ConfigValidation;
import io.patroxy.config.PatroxyConfig;
import io.patroxy.health.HealthChecks;
import io.patroxy.proxy.HoldQueue;
import io.patroxy.proxy.ProxyServer;
import io.patroxy.proxy.SessionRegistry;
import io.patroxy.stats.ProxyStarted;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;

/**
 * Quarkus glue, kept thin: validates the configuration, wires health → cluster view →
 * sessions → listener, and stops them in the reverse order.
 */
@Singleton
public class Patroxy {

    private static final Logger LOG = Logger.getLogger(Patroxy.class);

    private final PatroxyConfig config;
    private final Vertx vertx;
    private final Event<ProxyStarted> started;
    private ConfigValidation.Settings settings;
    private ClusterRegistry cluster;
    private SessionRegistry sessions;
    private ProxyServer proxy;
    private HealthChecks checks;

    public Patroxy(PatroxyConfig config, Vertx vertx, Event<ProxyStarted> started) {
        this.config = config;
        this.vertx = vertx;
        this.started = started;
    }

    void onStart(@Observes StartupEvent event) {
        settings = ConfigValidation.validate(config);
        LOG.infof("members: %s; check %s every %s, fall %d, rise %d, timeout %s", settings.members(),
                settings.check().path(), settings.check().interval(), settings.check().fall(), settings.check().rise(),
                settings.check().timeout());
        cluster = new ClusterRegistry(settings.members(), settings.check().fall(), settings.check().rise(), Clock.systemUTC());
        sessions = new SessionRegistry(settings.members(), settings.proxy().maxconn(), cluster::view, AccessLog::log);
        cluster.addListener(sessions);
        HoldQueue holds = new HoldQueue(settings.proxy().holdQueue());
        cluster.addListener(holds);
        proxy = new ProxyServer(settings.proxy(), cluster::view, sessions, holds);
        proxy.start();
        CheckSettings check = settings.check();
        checks = HealthChecks.start(vertx, settings.members(), check, settings.proxy().connectTimeout(),
                member -> IntervalPolicy.next(check, cluster.view(), member), cluster::record);
        started.fire(new ProxyStarted(cluster, sessions, proxy.address()));
    }

    /**
     * Stop accepting, the grace period (checks and drops still running: a failover during it
     * still drops the sessions on the old leader), close the sessions left, then stop the checks.
     */
    void onStop(@Observes ShutdownEvent event) {
        try {
            if (proxy != null) {
                proxy.shutdown(settings.proxy().shutdownGrace());
            }
        } finally {
            if (checks != null) {
                checks.stop();
            }
        }
    }

    public ClusterRegistry cluster() {
        return cluster;
    }

    public SessionRegistry sessions() {
        return sessions;
    }

    public InetSocketAddress proxyAddress() {
        return proxy.address();
    }
}
