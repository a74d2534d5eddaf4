package io.patroxy.proxy;

import java.util.function.Supplier;

import io.patroxy.cluster.ClusterView;

/** What every connection handler needs: settings, the current snapshot, and the shared registries. */
record ProxyContext(ProxySettings settings, Supplier<ClusterView> view, SessionRegistry sessions,
        CancelKeys cancelKeys, HoldQueue holds, Transport transport) {
}
