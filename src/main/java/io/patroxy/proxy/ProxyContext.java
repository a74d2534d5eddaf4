package io.patroxy.proxy;

import java.util.function.Supplier;

import io.patroxy.cluster.ClusterView;
import io.patroxy.config.ProxySettings;

/** What every connection handler needs: settings, the current snapshot, the shared registries, the way to servers. */
record ProxyContext(ProxySettings settings, Supplier<ClusterView> view, SessionRegistry sessions,
        HoldQueue holds, Connector connector) {
}
