package io.patroxy.proxy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.patroxy.cluster.ClusterListener;
import io.patroxy.cluster.ClusterView;

/**
 * Clients waiting for a leader (bounded). Each waiter is woken on every snapshot that has a
 * leader, and re-checks for itself on its own event loop.
 */
public final class HoldQueue implements ClusterListener {

    private final int capacity;
    private final Set<Runnable> waiting = ConcurrentHashMap.newKeySet();

    public HoldQueue(int capacity) {
        this.capacity = capacity;
    }

    /** Adds a waiter; false when the queue is full. */
    synchronized boolean offer(Runnable wake) {
        if (waiting.size() >= capacity) {
            return false;
        }
        waiting.add(wake);
        return true;
    }

    void remove(Runnable wake) {
        waiting.remove(wake);
    }

    public int size() {
        return waiting.size();
    }

    @Override
    public void onChange(ClusterView before, ClusterView after) {
        if (after.leader() != null) {
            waiting.forEach(Runnable::run);
        }
    }
}
