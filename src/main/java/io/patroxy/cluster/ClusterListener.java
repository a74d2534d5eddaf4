package io.patroxy.cluster;

/** Told of every new snapshot, on the thread that recorded the check; must not block. */
@FunctionalInterface
public interface ClusterListener {
    void onChange(ClusterView before, ClusterView after);
}
