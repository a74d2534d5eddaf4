package io.patroxy.proxy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.patroxy.cluster.ClusterListener;
import io.patroxy.cluster.ClusterView;

/**
 * Clients waiting for a leader (bounded). On every snapshot that has a leader each waiting
 * session is told through its door, and re-checks for itself on its own event loop.
 */
public final class HoldQueue implements ClusterListener {

    private final int capacity;
    private final Set<Session> waiting = ConcurrentHashMap.newKeySet();

    public HoldQueue(int capacity) {
        this.capacity = capacity;
    }

    /** Adds a waiter; false when the queue is full. */
    synchronized boolean offer(Session session) {
        if (waiting.size() >= capacity) {
            return false;
        }
        waiting.add(session);
        return true;
    }

    void remove(Session session) {
        waiting.remove(session);
    }

    public int size() {
        return waiting.size();
    }

    @Override
    public void onChange(ClusterView before, ClusterView after) {
        if (after.leader() != null) {
            waiting.forEach(s -> s.post(Session.Event.ROUTE_CHANGED));
        }
    }
}
