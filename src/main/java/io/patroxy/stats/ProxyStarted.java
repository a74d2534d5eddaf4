package io.patroxy.stats;

import java.net.InetSocketAddress;
import java.util.List;

import io.patroxy.cluster.ClusterRegistry;
import io.patroxy.config.Role;
import io.patroxy.proxy.SessionRegistry;

/**
 * What the running proxy shows to the stats floor: fired once (a CDI event) by the application when
 * the listener is bound and the checks run, so stats depends on the floors below it only, not on
 * the application's wiring nor on start-up priorities.
 */
public record ProxyStarted(List<Listener> listeners) {

    /** One listener: its name, role, members' check state, sessions and bound address. */
    public record Listener(String name, Role role, ClusterRegistry cluster, SessionRegistry sessions, InetSocketAddress address) {
    }

    public ProxyStarted {
        listeners = List.copyOf(listeners);
    }

    /** The first listener (the only one without {@code patroxy.listeners}). */
    public Listener first() {
        return listeners.get(0);
    }

    public ClusterRegistry cluster() {
        return first().cluster();
    }

    public SessionRegistry sessions() {
        return first().sessions();
    }

    public InetSocketAddress address() {
        return first().address();
    }
}
