package io.patroxy.stats;

import java.net.InetSocketAddress;

import io.patroxy.cluster.ClusterRegistry;
import io.patroxy.proxy.SessionRegistry;

/**
 * What the running proxy shows to the stats floor: fired once (a CDI event) by the application when
 * the listener is bound and the checks run, so stats depends on the floors below it only, not on
 * the application's wiring nor on start-up priorities.
 */
public record ProxyStarted(ClusterRegistry cluster, SessionRegistry sessions, InetSocketAddress address) {
}
