package io.patroxy.stats;

import java.net.InetSocketAddress;
import java.util.List;

import io.patroxy.cluster.ClusterRegistry;
import io.patroxy.cluster.Routing;
import io.patroxy.config.Role;
import io.patroxy.proxy.SessionRegistry;
import io.patroxy.proxy.TlsContexts;

/**
 * What the running proxy shows to the stats floor: fired once (a CDI event) by the application when
 * the listeners are bound and the checks run, so stats depends on the floors below it only, not on
 * the application's wiring nor on start-up priorities.
 *
 * @param listeners in configuration order; one (named {@code patroxy.stats.name}) without {@code patroxy.listeners}
 * @param tls       Patroxy's TLS (its certificates' expiry), null when not known
 */
public record ProxyStarted(List<Listener> listeners, TlsContexts tls) {

    public ProxyStarted(List<Listener> listeners) {
        this(listeners, null);
    }

    /**
     * One listener: its name, role, the REST API path its members are checked on, their check state,
     * how it routes (to tell whether a client connecting now would be relayed), sessions and bound address.
     */
    public record Listener(String name, Role role, String checkPath, ClusterRegistry cluster, Routing routing,
            SessionRegistry sessions, InetSocketAddress address) {
    }

    public ProxyStarted {
        if (listeners.isEmpty()) {
            throw new IllegalArgumentException("a proxy has at least one listener");
        }
        listeners = List.copyOf(listeners);
    }
}
