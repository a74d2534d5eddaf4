package io.patroxy.proxy;

import java.util.concurrent.atomic.AtomicLong;

import io.patroxy.cluster.RouteView;
import io.patroxy.cluster.Routing;
import io.patroxy.config.ProxySettings;

/** What every connection handler of one listener needs: settings, its routing, its registries, the way to servers, TLS. */
record ProxyContext(ProxySettings settings, SessionRegistry sessions, HoldQueue holds, Connector connector, AtomicLong turns,
        TlsContexts tls) {

    /** Passthrough TLS with an ephemeral certificate for Patroxy's own refusals. */
    ProxyContext(ProxySettings settings, SessionRegistry sessions, HoldQueue holds, Connector connector) {
        this(settings, sessions, holds, connector, TlsContexts.passthroughDefault());
    }

    ProxyContext(ProxySettings settings, SessionRegistry sessions, HoldQueue holds, Connector connector, TlsContexts tls) {
        this(settings, sessions, holds, connector, new AtomicLong(), tls);
    }

    /** The snapshots this listener routes by, read now. */
    RouteView view() {
        return sessions.view();
    }

    Routing routing() {
        return sessions.routing();
    }
}
