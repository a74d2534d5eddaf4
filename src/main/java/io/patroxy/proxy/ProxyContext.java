package io.patroxy.proxy;

import java.util.concurrent.atomic.AtomicLong;

import io.patroxy.cluster.RouteView;
import io.patroxy.cluster.Routing;
import io.patroxy.config.ProxySettings;

/** What every connection handler of one listener needs: settings, its routing, its registries, the way to servers. */
record ProxyContext(ProxySettings settings, SessionRegistry sessions, HoldQueue holds, Connector connector, AtomicLong turns) {

    ProxyContext(ProxySettings settings, SessionRegistry sessions, HoldQueue holds, Connector connector) {
        this(settings, sessions, holds, connector, new AtomicLong());
    }

    /** The snapshots this listener routes by, read now. */
    RouteView view() {
        return sessions.view();
    }

    Routing routing() {
        return sessions.routing();
    }
}
