package io.patroxy.proxy;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

import io.netty.channel.Channel;
import io.patroxy.cluster.ClusterListener;
import io.patroxy.cluster.ClusterView;
import io.patroxy.cluster.RouteView;
import io.patroxy.cluster.Routing;
import io.patroxy.cluster.DropPolicy;
import io.patroxy.config.MemberAddress;

/**
 * All open sessions, by the member each is routed to; enforces {@code maxconn} and carries out the
 * {@link DropPolicy} (HAProxy's {@code on-marked-down shutdown-sessions}, and Patroxy's
 * leader-moved rule): on every snapshot, each session on a member whose verdict changed is told
 * through its door, after the snapshot is published — so a session that routes itself concurrently
 * either is in the index when this looks, or reads the new snapshot itself.
 *
 * <p>Counting: a client is admitted (it holds a {@code maxconn} slot) while it is open; it is
 * counted as a session ({@code stot}, its member's {@code stot}/{@code scur}/{@code smax}) once it
 * relays, never per connection attempt; a refused client is counted as refused only.
 */
public final class SessionRegistry implements ClusterListener {

    private final int maxconn;
    private final AtomicLong ids = new AtomicLong();
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicInteger maxActive = new AtomicInteger();
    private final LongAdder accepted = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final Set<Session> open = ConcurrentHashMap.newKeySet();
    private final Map<String, Set<Session>> byMember = new ConcurrentHashMap<>();
    private final Map<String, MemberTraffic> traffic = new ConcurrentHashMap<>();
    private final Map<CloseCause, LongAdder> closes = new EnumMap<>(CloseCause.class);
    private final Consumer<Session> accessLog;
    private final CancelKeys cancelKeys;
    private final LongAdder held = new LongAdder();
    private final AtomicLong routeSeq = new AtomicLong();
    private final Map<String, Long> shutdownCutoff = new ConcurrentHashMap<>();
    private final Routing routing;
    private RouteView lastSeen;

    /** A leader listener's sessions, with cancel keys of their own. */
    public SessionRegistry(List<MemberAddress> members, int maxconn, java.util.function.Supplier<ClusterView> view,
            Consumer<Session> accessLog) {
        this(members, maxconn, Routing.leader("", view), new CancelKeys(), accessLog);
    }

    /** @param cancelKeys shared by every listener: a cancel reaches the member of its session, whatever the listener */
    public SessionRegistry(List<MemberAddress> members, int maxconn, Routing routing, CancelKeys cancelKeys,
            Consumer<Session> accessLog) {
        this.maxconn = maxconn;
        this.routing = routing;
        this.cancelKeys = cancelKeys;
        this.lastSeen = routing.now();
        this.accessLog = accessLog;
        for (MemberAddress m : members) {
            traffic.put(m.name(), new MemberTraffic());
            byMember.put(m.name(), ConcurrentHashMap.newKeySet());
        }
        for (CloseCause c : CloseCause.values()) {
            closes.put(c, new LongAdder());
        }
    }

    /** A new client: a session, or null when {@code maxconn} sessions are already open (counted as refused). */
    Session admit(Channel client) {
        int now = active.incrementAndGet();
        if (now > maxconn) {
            active.decrementAndGet();
            return null;
        }
        maxActive.accumulateAndGet(now, Math::max);
        Session session = new Session(ids.incrementAndGet(), client, this);
        open.add(session);
        return session;
    }

    /** The snapshots this listener routes by, current now. */
    RouteView view() {
        return routing.now();
    }

    Routing routing() {
        return routing;
    }

    /**
     * The session goes to {@code member} (before it connects): from now on a change of that
     * member's verdict reaches it. The caller reads the view <em>after</em> this.
     */
    void route(Session session, MemberAddress member) {
        session.routedTo(member, routeSeq.incrementAndGet());
        byMember.computeIfAbsent(member.name(), k -> ConcurrentHashMap.newKeySet()).add(session);
    }

    /** The session gives its member up before relaying (to wait, or retry elsewhere). */
    void unroute(Session session) {
        MemberAddress m = session.member();
        if (m != null) {
            byMember.getOrDefault(m.name(), Set.of()).remove(session);
        }
        session.routedTo(null, 0);
    }

    /** The session relays now: counted as a session, on its member. */
    MemberTraffic relayStarted(Session session) {
        accepted.increment();
        MemberTraffic t = traffic(session.member().name());
        t.opened();
        return t;
    }

    /** A client turned away because maxconn sessions were open (it never became a session). */
    void refusedMaxconn() {
        refused.increment();
        closes.get(CloseCause.MAXCONN).increment();
    }

    /** A client that had to wait for a leader. */
    void countHeld() {
        held.increment();
    }

    /** Clients that waited for a leader instead of being refused. */
    public long heldConnections() {
        return held.sum();
    }

    public CancelKeys cancelKeys() {
        return cancelKeys;
    }

    void connectFailed(MemberAddress member) {
        traffic(member.name()).connectErrors.increment();
    }

    void finished(Session session) {
        if (!open.remove(session)) {
            return;
        }
        active.decrementAndGet();
        if (session.cause() == CloseCause.NO_LEADER || session.cause() == CloseCause.CONNECT_FAILED) {
            refused.increment();
        }
        closes.get(session.cause()).increment();
        MemberAddress m = session.member();
        if (m != null) {
            byMember.getOrDefault(m.name(), Set.of()).remove(session);
            if (session.relayed()) {
                traffic(m.name()).current.decrementAndGet();
            }
        }
        accessLog.accept(session);
    }

    /** Patroxy's grace period is over: every session is told through its door. */
    public void shutdownAll() {
        open.forEach(s -> s.post(Session.Event.SHUTDOWN));
    }

    /**
     * An administrator shuts down the sessions of {@code member} (HAProxy's {@code shutdown sessions
     * server}): every session routed to it by now — relaying or on its way — is told through its
     * door and ends there with {@link CloseCause#SHUTDOWN_SESSIONS} if it is still on it; a session
     * routed to it later is not touched.
     *
     * @return how many sessions were told
     */
    public int shutdownSessions(String member) {
        shutdownCutoff.merge(member, routeSeq.get(), Math::max);
        // a copy: the live set loses each session as it closes, which may be before size() is read
        List<Session> on = List.copyOf(byMember.getOrDefault(member, Set.of()));
        on.forEach(s -> s.post(Session.Event.SHUTDOWN_SESSIONS));
        return on.size();
    }

    /** Whether a session routed to {@code member} with sequence number {@code seq} is to be shut down. */
    boolean shutdownRequested(String member, long seq) {
        return seq != 0 && seq <= shutdownCutoff.getOrDefault(member, 0L);
    }

    /**
     * A snapshot of this listener's members (or of the leader listener's, for a fallback) was
     * published: the sessions on every member whose verdict changed are told.
     */
    @Override
    public synchronized void onChange(ClusterView before, ClusterView after) {
        RouteView now = routing.now();
        RouteView was = lastSeen;
        lastSeen = now;
        for (DropPolicy.Change change : DropPolicy.changes(was, now)) {
            Set<Session> on = byMember.get(change.member());
            if (on != null) {
                on.forEach(s -> s.post(Session.Event.ROUTE_CHANGED));
            }
        }
    }

    public int activeSessions() {
        return active.get();
    }

    public int maxActiveSessions() {
        return maxActive.get();
    }

    public int maxconn() {
        return maxconn;
    }

    public long acceptedSessions() {
        return accepted.sum();
    }

    /** Open sessions (admitted, whatever their state). */
    Set<Session> open() {
        return java.util.Collections.unmodifiableSet(open);
    }

    /** Clients turned away: maxconn, no leader, leader unreachable. */
    public long refusedConnections() {
        return refused.sum();
    }

    public long closes(CloseCause cause) {
        return closes.get(cause).sum();
    }

    /** Sessions routed to {@code member} now (connecting, handshaking or relaying). */
    public int sessionsOn(String member) {
        Set<Session> on = byMember.get(member);
        return on == null ? 0 : on.size();
    }

    /** The member's counters (a member discovery added gets fresh ones). */
    public MemberTraffic traffic(String member) {
        return traffic.computeIfAbsent(member, k -> new MemberTraffic());
    }
}
