package io.patroxy.stats;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;

import io.patroxy.cluster.ClusterView;
import io.patroxy.cluster.MemberView;
import io.patroxy.cluster.Routing;
import io.patroxy.config.Role;
import io.patroxy.proxy.SessionRegistry;

/**
 * One listener as the stats floor follows it: what the proxy started ({@link ProxyStarted.Listener})
 * and the histories kept beside its cluster view — its leader's for a leader role, its backend's
 * UP/DOWN for a balanced one ({@link LeaderHistory#backendUp}) — and its members' DOWN → UP count.
 */
final class ListenerStats {

    private final ProxyStarted.Listener listener;
    private final LeaderHistory history;
    private final UpTransitions ups;

    private ListenerStats(ProxyStarted.Listener listener, LeaderHistory history, UpTransitions ups) {
        this.listener = listener;
        this.history = history;
        this.ups = ups;
    }

    /** Starts following {@code listener}'s cluster view. */
    static ListenerStats follow(ProxyStarted.Listener listener, Clock clock) {
        List<String> members = listener.cluster().view().members().stream().map(MemberView::name).toList();
        LeaderHistory history = listener.role().leaderRole()
                ? new LeaderHistory(LeaderHistory.DEFAULT_CAPACITY, clock)
                : LeaderHistory.backendUp(LeaderHistory.DEFAULT_CAPACITY, clock);
        UpTransitions ups = new UpTransitions(members);
        listener.cluster().addListener(history);
        listener.cluster().addListener(ups);
        history.observe(listener.cluster().view()); // a change seen before the history was added
        return new ListenerStats(listener, history, ups);
    }

    String name() {
        return listener.name();
    }

    Role role() {
        return listener.role();
    }

    /** The Patroni REST API path its members are checked on, e.g. {@code /replica?lag=16MB}. */
    String checkPath() {
        return listener.checkPath();
    }

    /** primary or leader: one member at a time, with a leader history. */
    boolean leaderRole() {
        return listener.role().leaderRole();
    }

    ClusterView view() {
        return listener.cluster().view();
    }

    /** Runs {@code r} after every snapshot whose member list differs from the one before (discovery). */
    void onMembersChanged(Runnable r) {
        listener.cluster().addListener((before, after) -> {
            if (!before.members().stream().map(MemberView::name).toList()
                    .equals(after.members().stream().map(MemberView::name).toList())) {
                r.run();
            }
        });
    }

    List<String> members() {
        return view().members().stream().map(MemberView::name).toList();
    }

    SessionRegistry sessions() {
        return listener.sessions();
    }

    /** The leader's history (leader roles) or the backend's UP/DOWN history (balanced roles). */
    LeaderHistory history() {
        return history;
    }

    UpTransitions ups() {
        return ups;
    }

    /** A client connecting now would be routed: to the leader, to an UP member, or by fallback to the leader. */
    boolean routable() {
        return !Routing.candidates(listener.routing().now()).isEmpty();
    }

    /** host:port as bound, null before. */
    String address() {
        InetSocketAddress a = listener.address();
        return a == null ? null : a.getHostString() + ":" + a.getPort();
    }
}
