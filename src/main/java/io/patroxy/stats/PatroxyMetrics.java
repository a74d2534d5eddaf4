package io.patroxy.stats;

import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.patroxy.cluster.MemberView;
import io.patroxy.health.MemberHealth;
import io.patroxy.proxy.CloseCause;
import io.patroxy.proxy.MemberTraffic;
import io.patroxy.proxy.SessionRegistry;

/**
 * Patroxy's meters, all {@code patroxy_*} in base units; each listener's labelled
 * {@code listener="<name>"} (without {@code patroxy.listeners}: {@code patroxy.stats.name}), its
 * members also {@code server="<name>"}. Leader meters exist for leader roles (primary, leader)
 * only. Every meter is a function of the registries, read at scrape time: nothing is counted twice.
 * See docs/stats.md for the list.
 *
 * <p>{@link #close()} removes the meters again: a registry that outlives this application (Quarkus
 * tests restart the application in one JVM) would otherwise keep serving meters of a stopped one,
 * and a new bind with the same names and tags would get those old meters back.
 */
public final class PatroxyMetrics implements MeterBinder, AutoCloseable {

    private final List<ListenerStats> listeners;
    private final Clock clock;
    private final String version;
    private final List<Meter> meters = new CopyOnWriteArrayList<>();
    private volatile MeterRegistry boundTo;
    private final java.util.Map<String, List<Meter>> memberMeters = new java.util.HashMap<>();
    private boolean closed;

    PatroxyMetrics(List<ListenerStats> listeners, Clock clock, String version) {
        this.listeners = List.copyOf(listeners);
        this.clock = clock;
        this.version = version;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        boundTo = registry;
        for (ListenerStats l : listeners) {
            Tags tags = Tags.of("listener", l.name());
            bindMembers(registry, l);
            l.onMembersChanged(() -> bindMembers(registry, l));
            bindListener(registry, l, tags);
        }
        gauge(registry, "patroxy.info", "Patroxy's version", Tags.of("version", version), m -> 1);
    }

    private void bindListener(MeterRegistry registry, ListenerStats l, Tags tags) {
        SessionRegistry sessions = l.sessions();
        gauge(registry, "patroxy.sessions.current", "Client sessions open now", tags, m -> sessions.activeSessions());
        gauge(registry, "patroxy.sessions.max", "Most client sessions open at once", tags,
                m -> sessions.maxActiveSessions());
        gauge(registry, "patroxy.sessions.limit", "The listener's maxconn", tags, m -> sessions.maxconn());
        counter(registry, "patroxy.sessions", null, "Client sessions accepted", tags, m -> sessions.acceptedSessions());
        counter(registry, "patroxy.refused.connections", null,
                "Clients turned away: maxconn reached, no member to route to, member unreachable", tags,
                m -> sessions.refusedConnections());
        counter(registry, "patroxy.held.connections", null, "Clients that waited for a member (patroxy.hold)", tags,
                m -> sessions.heldConnections());
        for (CloseCause cause : CloseCause.values()) {
            counter(registry, "patroxy.session.closes", null, "Finished sessions by close cause",
                    tags.and("cause", cause.label()), m -> sessions.closes(cause));
        }
        gauge(registry, "patroxy.backend.up",
                "1 while the listener's backend is UP (a leader is known; balanced roles: a member is UP), else 0", tags,
                m -> l.history().leader().isPresent() ? 1 : 0);
        if (!l.leaderRole()) {
            return;
        }
        gauge(registry, "patroxy.leader.known", "1 while a member is the leader (UP), else 0", tags,
                m -> l.view().leader() == null ? 0 : 1);
        counter(registry, "patroxy.leader.changes", null, "Times a member became the leader", tags,
                m -> l.history().elections());
        counter(registry, "patroxy.no.leader", "seconds", "Time without a leader since start", tags,
                m -> l.history().leaderlessTotal(m.clock.instant()).toMillis() / 1000.0);
    }

    /**
     * Meters for exactly the listener's current members: a member discovery added gets its meters,
     * one that left loses them.
     */
    private synchronized void bindMembers(MeterRegistry registry, ListenerStats l) {
        if (closed) {
            return;
        }
        List<String> now = l.members();
        for (String member : now) {
            memberMeters.computeIfAbsent(l.name() + "/" + member, k -> {
                int from = meters.size();
                bindMember(registry, l, Tags.of("listener", l.name(), "server", member), member);
                return List.copyOf(meters.subList(from, meters.size()));
            });
        }
        memberMeters.entrySet().removeIf(e -> {
            String key = e.getKey();
            if (key.startsWith(l.name() + "/") && !now.contains(key.substring(l.name().length() + 1))) {
                e.getValue().forEach(registry::remove);
                meters.removeAll(e.getValue());
                return true;
            }
            return false;
        });
    }

    private void bindMember(MeterRegistry registry, ListenerStats l, Tags server, String name) {
        for (MemberHealth.State state : MemberHealth.State.values()) {
            gauge(registry, "patroxy.server.status",
                    "1 for the member's current fall/rise state (HAProxy's UP, UP 1/3 = UP_GOING_DOWN, ...)",
                    server.and("state", state.name()),
                    m -> member(l, name).map(v -> v.health().state() == state ? 1 : 0).orElse(0));
        }
        for (io.patroxy.cluster.AdminState admin : io.patroxy.cluster.AdminState.values()) {
            gauge(registry, "patroxy.server.admin",
                    "1 for what the operator said of the member (admin API): ready, drain (no new sessions) or maint (none, checks paused)",
                    server.and("state", admin.label()),
                    m -> member(l, name).map(v -> v.admin() == admin ? 1 : 0).orElse(0));
        }
        gauge(registry, "patroxy.server.up", "1 while the member is UP (passes the listener's check, e.g. /primary)",
                server, m -> member(l, name).map(v -> v.isUp() ? 1 : 0).orElse(0));
        if (l.leaderRole()) {
            gauge(registry, "patroxy.server.leader", "1 on the member new sessions go to", server,
                    m -> l.view().leaderName().map(name::equals).orElse(false) ? 1 : 0);
        }
        gauge(registry, "patroxy.server.timeline", "Patroni timeline in the last check's JSON, -1 if unknown",
                server, m -> member(l, name).map(v -> v.patroni().timeline()).orElse(-1L));
        meters.add(Gauge.builder("patroxy.server.check.duration", this,
                m -> member(l, name).map(v -> v.lastCheck() == null ? Double.NaN
                        : v.lastCheck().duration().toNanos() / 1e9).orElse(Double.NaN))
                .description("Duration of the last health check").baseUnit("seconds").tags(server)
                .strongReference(true).register(registry));
        counter(registry, "patroxy.server.check.failures", null, "Failed health checks (HAProxy's chkfail)", server,
                m -> member(l, name).map(MemberView::checkFailures).orElse(0L));
        counter(registry, "patroxy.server.transitions", null, "UP/DOWN transitions (to=down is HAProxy's chkdown)",
                server.and("to", "down"), m -> member(l, name).map(MemberView::downTransitions).orElse(0L));
        counter(registry, "patroxy.server.transitions", null, "UP/DOWN transitions (to=down is HAProxy's chkdown)",
                server.and("to", "up"), m -> l.ups().of(name));
        counter(registry, "patroxy.server.downtime", "seconds", "Total time DOWN", server,
                m -> member(l, name).map(v -> v.downtime(m.clock.instant()).toMillis() / 1000.0).orElse(0.0));
        MemberTraffic t = l.sessions().traffic(name);
        gauge(registry, "patroxy.server.sessions.current", "Sessions open to the member now", server,
                m -> t.current());
        gauge(registry, "patroxy.server.sessions.max", "Most sessions open to the member at once", server,
                m -> t.max());
        counter(registry, "patroxy.server.sessions", null, "Sessions relayed to the member", server,
                m -> t.total());
        counter(registry, "patroxy.server.bytes", "bytes", "Bytes relayed", server.and("direction", "client_to_server"),
                m -> t.clientToServerBytes());
        counter(registry, "patroxy.server.bytes", "bytes", "Bytes relayed", server.and("direction", "server_to_client"),
                m -> t.serverToClientBytes());
        counter(registry, "patroxy.server.connect.errors", null, "Failed connections to the member", server,
                m -> t.connectErrors());
    }

    private static Optional<MemberView> member(ListenerStats l, String name) {
        return l.view().member(name);
    }

    private void gauge(MeterRegistry registry, String name, String help, Tags tags, ToDoubleFunction<PatroxyMetrics> f) {
        meters.add(Gauge.builder(name, this, f).description(help).tags(tags).strongReference(true).register(registry));
    }

    private void counter(MeterRegistry registry, String name, String unit, String help, Tags tags,
            ToDoubleFunction<PatroxyMetrics> f) {
        meters.add(FunctionCounter.builder(name, this, f).description(help).baseUnit(unit).tags(tags).register(registry));
    }

    @Override
    public synchronized void close() {
        closed = true;
        MeterRegistry registry = boundTo;
        if (registry != null) {
            meters.forEach(registry::remove);
        }
        meters.clear();
    }
}
