package io.patroxy.proxy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.patroxy.cluster.ClusterListener;
import io.patroxy.cluster.ClusterView;
import io.patroxy.cluster.Routing;

/**
 * Clients waiting for a member to route to (bounded). On every snapshot that has one, each
 * waiting session is told through its door, and re-checks for itself on its own event loop.
 */
public final class HoldQueue implements ClusterListener {

    private final int capacity;
    private final Routing routing;
    private final Set<Session> waiting = ConcurrentHashMap.newKeySet();

    /** For a leader listener: woken when a leader is known. */
    public HoldQueue(int capacity) {
        this(capacity, null);
    }

    /** Woken when {@code routing} has a member for new sessions. */
    public HoldQueue(int capacity, Routing routing) {
        this.capacity = capacity;
        this.routing = routing;
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
        if (routing == null ? after.routableLeader().isPresent() : !Routing.candidates(routing.now()).isEmpty()) {
            waiting.forEach(s -> s.post(Session.Event.ROUTE_CHANGED));
        }
    }
}
