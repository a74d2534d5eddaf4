package io.patroxy.stats;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.patroxy.cluster.ClusterView;
import io.patroxy.cluster.MemberView;
import io.patroxy.health.CheckOutcome;
import io.patroxy.proxy.CloseCause;
import io.patroxy.proxy.MemberTraffic;
import io.patroxy.proxy.SessionRegistry;

/** Builds a {@link StatsSnapshot} from the registries: reads only, a pure function of what it is given. */
public final class StatsSnapshots {

    /** What does not change while Patroxy runs. */
    public record Info(String version, long pid, Instant started) {
    }

    private StatsSnapshots() {
    }

    static StatsSnapshot capture(Info info, List<ListenerStats> listeners, Instant now) {
        List<StatsSnapshot.Listener> sections = new ArrayList<>();
        for (ListenerStats l : listeners) {
            sections.add(listener(l, now));
        }
        return new StatsSnapshot(info.version(), info.pid(), now, info.started(), seconds(info.started(), now), sections);
    }

    private static StatsSnapshot.Listener listener(ListenerStats l, Instant now) {
        ClusterView view = l.view();
        SessionRegistry sessions = l.sessions();
        List<StatsSnapshot.Server> servers = new ArrayList<>();
        int id = 0;
        for (MemberView m : view.members()) {
            servers.add(server(++id, m, view, sessions.traffic(m.name()), l.ups().of(m.name()), now));
        }
        boolean up = l.leaderRole() ? view.leader() != null : view.upCount() > 0;
        return new StatsSnapshot.Listener(l.name(), l.role().label(), l.checkPath(), l.address(), l.leaderRole(),
                l.routable(), frontend(sessions, servers), backend(up, view, servers, l.history(), now), servers,
                l.leaderRole() ? leadership(view, l.history(), now) : null);
    }

    private static StatsSnapshot.Server server(int id, MemberView m, ClusterView view, MemberTraffic t, long ups,
            Instant now) {
        CheckOutcome c = m.lastCheck();
        StatsSnapshot.Check check = c == null ? null
                : new StatsSnapshot.Check(c.status().name(), c.status().description(), c.httpCode(), c.detail(),
                        c.duration().toMillis(), c.finishedAt(), seconds(c.finishedAt(), now));
        return new StatsSnapshot.Server(id, m.name(), m.address().host() + ":" + m.address().pgPort(),
                m.display(), m.admin().label(), m.isUp(), m == view.leader(), m.patroni().role(), m.patroni().timeline(), check,
                m.checkFailures(), m.downTransitions(), ups, m.lastChange(), seconds(m.lastChange(), now),
                m.downtime(now).toSeconds(), m.health().rise(), m.health().fall(), m.health().health(),
                t.current(), t.max(), t.total(), t.clientToServerBytes(), t.serverToClientBytes(), t.connectErrors());
    }

    private static StatsSnapshot.Frontend frontend(SessionRegistry sessions, List<StatsSnapshot.Server> servers) {
        Map<String, Long> closes = new LinkedHashMap<>();
        for (CloseCause cause : CloseCause.values()) {
            closes.put(cause.label(), sessions.closes(cause));
        }
        return new StatsSnapshot.Frontend(sessions.activeSessions(), sessions.maxActiveSessions(), sessions.maxconn(),
                sessions.acceptedSessions(), sessions.refusedConnections(), sessions.heldConnections(),
                servers.stream().mapToLong(StatsSnapshot.Server::clientToServerBytes).sum(),
                servers.stream().mapToLong(StatsSnapshot.Server::serverToClientBytes).sum(), closes);
    }

    private static StatsSnapshot.Backend backend(boolean up, ClusterView view, List<StatsSnapshot.Server> servers,
            LeaderHistory history, Instant now) {
        return new StatsSnapshot.Backend(up, (int) view.upCount(),
                servers.stream().mapToLong(StatsSnapshot.Server::current).sum(),
                servers.stream().mapToLong(StatsSnapshot.Server::total).sum(),
                servers.stream().mapToLong(StatsSnapshot.Server::clientToServerBytes).sum(),
                servers.stream().mapToLong(StatsSnapshot.Server::serverToClientBytes).sum(),
                servers.stream().mapToLong(StatsSnapshot.Server::connectErrors).sum(),
                history.losses(), seconds(history.lastChange(), now), history.leaderlessTotal(now).toSeconds());
    }

    private static StatsSnapshot.Leadership leadership(ClusterView view, LeaderHistory leaders, Instant now) {
        List<StatsSnapshot.LeaderChange> changes = leaders.changes().stream()
                .map(c -> new StatsSnapshot.LeaderChange(c.at(), c.from(), c.to(), c.timeline(),
                        c.withoutLeader() == null ? null : c.withoutLeader().toMillis()))
                .toList();
        return new StatsSnapshot.Leadership(view.leaderName().orElse(null),
                view.leaderMember().map(MemberView::lastKnownTimeline).orElse(-1L), view.contested(),
                leaders.leaderlessSince().orElse(null), leaders.leaderlessTotal(now).toSeconds(),
                leaders.elections(), leaders.losses(), changes,
                view.withheld() == null ? null : view.withheld().name(),
                view.withheld() == null ? null : view.withheld().admin().name());
    }

    private static long seconds(Instant from, Instant to) {
        return from == null ? -1 : Math.max(0, Duration.between(from, to).toSeconds());
    }
}
