package io.patroxy.proxy;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

import io.netty.channel.Channel;
import io.patroxy.cluster.ClusterListener;
import io.patroxy.cluster.ClusterView;
import io.patroxy.cluster.MemberView;
import io.patroxy.config.MemberAddress;

/**
 * All open sessions, by member; enforces {@code maxconn} and applies HAProxy's
 * {@code on-marked-down shutdown-sessions}: when a member is marked DOWN, or the leader moves to
 * another member, every session still on the old one is closed at once.
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
    private final Map<String, MemberTraffic> traffic = new LinkedHashMap<>();
    private final Map<CloseCause, LongAdder> closes = new EnumMap<>(CloseCause.class);
    private final Consumer<Session> accessLog;
    private final CancelKeys cancelKeys = new CancelKeys();
    private final LongAdder held = new LongAdder();

    public SessionRegistry(List<MemberAddress> members, int maxconn, Consumer<Session> accessLog) {
        this.maxconn = maxconn;
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
        accepted.increment();
        Session session = new Session(ids.incrementAndGet(), client, this, cancelKeys);
        open.add(session);
        return session;
    }

    /** The session is connected to {@code member}; from now on a DOWN of that member closes it. */
    void register(Session session, Channel server, MemberAddress member) {
        MemberTraffic t = traffic.get(member.name());
        session.attach(server, member, t);
        t.opened();
        byMember.get(member.name()).add(session);
    }

    /** A client turned away because maxconn sessions were open (it never became a session). */
    void refusedMaxconn() {
        refused.increment();
        closes.get(CloseCause.MAXCONN).increment();
    }

    /** The session gives up its server during the handshake (to retry elsewhere). */
    void unregister(Session session) {
        if (session.member() != null && byMember.get(session.member().name()).remove(session)) {
            traffic.get(session.member().name()).current.decrementAndGet();
        }
        session.attach(null, null, null);
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
        traffic.get(member.name()).connectErrors.increment();
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
        if (session.member() != null && byMember.get(session.member().name()).remove(session)) {
            traffic.get(session.member().name()).current.decrementAndGet();
        }
        accessLog.accept(session);
    }

    /** Closes every session on {@code member}; returns how many were asked to close. */
    public int closeAll(String member, CloseCause cause, String why) {
        Set<Session> sessions = byMember.get(member);
        int n = 0;
        for (Session s : sessions) {
            s.close(cause, why);
            n++;
        }
        return n;
    }

    public void closeEverything(CloseCause cause) {
        open.forEach(s -> s.close(cause));
    }

    @Override
    public void onChange(ClusterView before, ClusterView after) {
        for (MemberView m : after.members()) {
            MemberView was = before.member(m.name()).orElse(m);
            if (was.isUp() && !m.isUp()) {
                closeAll(m.name(), CloseCause.MEMBER_DOWN, "member " + m.name() + " was marked DOWN by Patroxy (" + m.lastCheckSummary() + ")");
            }
        }
        String oldLeader = before.leaderName().orElse(null);
        String newLeader = after.leaderName().orElse(null);
        if (oldLeader != null && newLeader != null && !Objects.equals(oldLeader, newLeader)) {
            closeAll(oldLeader, CloseCause.LEADER_CHANGED,
                    "the leader moved from " + oldLeader + " to " + newLeader + " (Patroxy)");
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

    /** Clients turned away: maxconn, no leader, leader unreachable. */
    public long refusedConnections() {
        return refused.sum();
    }

    public long closes(CloseCause cause) {
        return closes.get(cause).sum();
    }

    public int sessionsOn(String member) {
        return byMember.get(member).size();
    }

    public MemberTraffic traffic(String member) {
        return traffic.get(member);
    }
}
