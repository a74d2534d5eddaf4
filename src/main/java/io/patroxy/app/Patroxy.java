package io.patroxy.app;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import jakarta.enterprise.event.Event;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.patroxy.cluster.ClusterRegistry;
import io.patroxy.cluster.DcsFollower;
import io.patroxy.cluster.IntervalPolicy;
import io.patroxy.cluster.Routing;
import io.patroxy.config.CheckSettings;
import io.patroxy.config.ConfigValidation;
import io.patroxy.config.ListenerSettings;
import io.patroxy.config.PatroxyConfig;
import io.patroxy.health.ClusterDiscovery;
import io.patroxy.health.DiscoveredMembers;
import io.patroxy.health.HealthChecks;
import io.patroxy.health.dcs.ZooKeeperWatch;
import io.patroxy.proxy.CancelKeys;
import io.patroxy.proxy.HoldQueue;
import io.patroxy.proxy.ProxyServer;
import io.patroxy.proxy.SessionRegistry;
import io.patroxy.proxy.TlsContexts;
import io.patroxy.proxy.Transport;
import io.patroxy.stats.ProxyStarted;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;

/**
 * Quarkus glue, kept thin: validates the configuration, wires, per listener, health → cluster
 * view → routing → sessions → port, and stops them in the reverse order.
 */
@Singleton
public class Patroxy {

    private static final Logger LOG = Logger.getLogger(Patroxy.class);

    private final PatroxyConfig config;
    private final Vertx vertx;
    private final Event<ProxyStarted> started;
    private final MeterRegistry meters;
    private ConfigValidation.Settings settings;
    private final List<ProxyStarted.Listener> listeners = new ArrayList<>();
    private final List<ProxyServer> servers = new ArrayList<>();
    private final List<HealthChecks> checks = new ArrayList<>();
    private Transport transport;
    private ClusterDiscovery discovery;
    private volatile DcsFollower follower;
    private ZooKeeperWatch watch;
    private Gauge dcsConnected;
    private TlsContexts tls;
    private long tlsReloadTimer = -1;

    public Patroxy(PatroxyConfig config, Vertx vertx, Event<ProxyStarted> started, MeterRegistry meters) {
        this.config = config;
        this.vertx = vertx;
        this.started = started;
        this.meters = meters;
    }

    /**
     * Per listener: its own members' check state (HAProxy checks each server of each backend),
     * routing, sessions and port; one set of event loops and one table of cancel keys for all.
     * Leader listeners first, so a balanced listener with fallback can follow one.
     */
    void onStart(@Observes StartupEvent event) {
        settings = ConfigValidation.validate(config);
        settings.warnings().forEach(LOG::warn);
        CheckSettings shared = settings.check();
        LOG.infof("members: %s; checks every %s, fall %d, rise %d, timeout %s", settings.members(), shared.interval(),
                shared.fall(), shared.rise(), shared.timeout());
        tls = TlsContexts.start(settings.tls());
        transport = Transport.create(config.eventLoops() > 0 ? config.eventLoops() : Transport.defaultThreads());
        CancelKeys cancelKeys = new CancelKeys();
        boolean single = settings.listeners().size() == 1;
        ClusterRegistry leaderCluster = null;
        List<ListenerSettings> ordered = new ArrayList<>(settings.listeners());
        ordered.sort(Comparator.comparing((ListenerSettings l) -> !l.role().leaderRole()));
        for (ListenerSettings l : ordered) {
            String name = single ? "" : l.name();
            boolean leaderRole = l.role().leaderRole();
            ClusterRegistry cluster = new ClusterRegistry(name, settings.members(), shared.fall(), shared.rise(),
                    Clock.systemUTC(), leaderRole);
            ClusterRegistry fallback = l.spec().fallback() ? leaderCluster : null;
            Routing routing = leaderRole ? Routing.leader(name, cluster::view)
                    : Routing.balanced(name, l.spec().balance(), l.spec().dropOnDown(),
                            cluster::view, fallback == null ? null : fallback::view);
            SessionRegistry sessions = new SessionRegistry(settings.members(), l.proxy().maxconn(), routing, cancelKeys,
                    AccessLog::log);
            HoldQueue holds = new HoldQueue(l.proxy().holdQueue(), routing);
            for (ClusterRegistry source : fallback == null ? List.of(cluster) : List.of(cluster, fallback)) {
                source.addListener(sessions);
                source.addListener(holds);
            }
            ProxyServer server = new ProxyServer(l.proxy(), sessions, holds, transport, tls);
            servers.add(server);
            InetSocketAddress address = server.start();
            LOG.infof("listener %s: role %s, check %s%s", l.name(), l.role().label(), l.check().path(),
                    leaderRole ? "" : ", balance " + l.spec().balance().name().toLowerCase(java.util.Locale.ROOT)
                            + (fallback != null ? ", fallback to the leader" : "") + (l.spec().dropOnDown() ? "" : ", drop off"));
            CheckSettings check = l.check();
            checks.add(HealthChecks.start(vertx, settings.members(), check, l.proxy().connectTimeout(),
                    member -> paced(IntervalPolicy.next(check, cluster.view(), member, leaderRole)), cluster::record,
                    member -> cluster.view().member(member).map(io.patroxy.cluster.MemberView::inMaint).orElse(false)));
            listeners.add(new ProxyStarted.Listener(l.name(), l.role(), check.path(), cluster, routing, sessions,
                    address));
            if (leaderRole && leaderCluster == null) {
                leaderCluster = cluster;
            }
        }
        listeners.sort(Comparator.comparingInt(x -> indexOf(x.name())));
        if (settings.discovery()) {
            startDiscovery(shared);
        }
        startDcsWatch();
        if (settings.tls().certFile().isPresent() || settings.tls().serverCaFile().isPresent()) {
            // new sessions get a changed certificate; a file that does not load keeps the old one (logged)
            tlsReloadTimer = vertx.setPeriodic(TLS_RELOAD_EVERY_MILLIS, id -> vertx.executeBlocking(() -> {
                tls.reloadIfChanged();
                return null;
            }));
        }
        started.fire(new ProxyStarted(listeners, tls));
    }

    /** How often the TLS files are reread for a change (their content, not only their time). */
    static final long TLS_RELOAD_EVERY_MILLIS = 10_000;

    /** {@code patroxy.discovery=cluster}: members learnt from Patroni's /cluster join every listener. */
    private void startDiscovery(CheckSettings shared) {
        Duration removeAfter = shared.interval().multipliedBy(shared.fall());
        discovery = new ClusterDiscovery(new DiscoveredMembers(settings.members(), removeAfter),
                HealthChecks.clusterFetcher(vertx, shared, settings.proxy().connectTimeout()), HealthChecks.vertxScheduler(vertx),
                shared.interval(), members -> {
                    listeners.forEach(l -> l.cluster().setMembers(members));
                    checks.forEach(c -> c.setMembers(members));
                });
        discovery.start();
        LOG.infof("discovery: members from Patroni's /cluster, seeds %s; a member gone for %s leaves", settings.members(), removeAfter);
    }

    /**
     * {@code patroxy.dcs.zookeeper}: Patroni's leader key and members, watched in ZooKeeper, feed
     * every leader listener's selector and the checks' pace. Unset: polling only, said once.
     */
    private void startDcsWatch() {
        if (settings.dcs().isEmpty()) {
            LOG.info("DCS: no ZooKeeper watch (patroxy.dcs.zookeeper unset): leader changes are found by polling only");
        } else {
            var dcs = settings.dcs().get();
            List<ClusterRegistry> leaders = listeners.stream().filter(l -> l.role().leaderRole()).map(ProxyStarted.Listener::cluster).toList();
            follower = new DcsFollower(leaders, dcs.fastinter(), settings.proxy().holdTimeout(), Clock.systemUTC(),
                    () -> checks.forEach(HealthChecks::hurry));
            watch = ZooKeeperWatch.start(dcs, follower::accept);
        }
        ZooKeeperWatch w = watch;
        dcsConnected = Gauge.builder("patroxy.dcs.connected", () -> w != null && w.connected() ? 1 : 0)
                .description("1 while the ZooKeeper watch of Patroni's DCS has a session, 0 without one or without the watch (polling only)")
                .register(meters);
    }

    /** A check's pace: the {@link IntervalPolicy}'s, faster while following a leader key change. */
    private java.time.Duration paced(java.time.Duration normal) {
        DcsFollower f = follower;
        return f == null ? normal : f.pace(normal);
    }

    private int indexOf(String listener) {
        for (int i = 0; i < settings.listeners().size(); i++) {
            if (settings.listeners().get(i).name().equals(listener)) {
                return i;
            }
        }
        return Integer.MAX_VALUE;
    }

    /**
     * Stop accepting, the grace period (checks and drops still running: a failover during it
     * still drops the sessions on the old leader), close the sessions left, then stop the checks.
     */
    void onStop(@Observes ShutdownEvent event) {
        if (tlsReloadTimer >= 0) {
            vertx.cancelTimer(tlsReloadTimer);
        }
        try {
            ProxyServer.shutdown(servers, settings.proxy().shutdownGrace());
            if (transport != null) {
                transport.shutdown();
            }
        } finally {
            if (discovery != null) {
                discovery.stop();
            }
            if (watch != null) {
                watch.close();
            }
            if (dcsConnected != null) {
                meters.remove(dcsConnected);
            }
            checks.forEach(HealthChecks::stop);
        }
    }

    /** The first listener's (the only one without {@code patroxy.listeners}). */
    public ClusterRegistry cluster() {
        return listeners.isEmpty() ? null : listeners.get(0).cluster();
    }

    /** The first listener's. */
    public SessionRegistry sessions() {
        return listeners.isEmpty() ? null : listeners.get(0).sessions();
    }

    /** The first listener's. */
    public InetSocketAddress proxyAddress() {
        return listeners.isEmpty() ? null : listeners.get(0).address();
    }

    /** Every listener, in configuration order. */
    public List<ProxyStarted.Listener> listeners() {
        return List.copyOf(listeners);
    }
}
