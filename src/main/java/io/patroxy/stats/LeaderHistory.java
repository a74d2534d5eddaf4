package io.patroxy.stats;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

import io.patroxy.cluster.ClusterListener;
import io.patroxy.cluster.ClusterView;
import io.patroxy.cluster.MemberView;

/**
 * Who the cluster's leader was over time, for the stats page and metrics: the last changes (old →
 * new leader; for a new leader, how long the cluster had none before it), how many times a leader
 * was elected or lost, and the total time without a leader.
 *
 * <p>Patroxy starts without a leader, so the time until the first leader is known counts as
 * leaderless. Changes are found by comparing each snapshot with the leader last seen here, not
 * with the snapshot's {@code before}, so a listener added after the first checks catches up on
 * the next snapshot (or at once through {@link #observe}).
 *
 * <p>A balanced listener (replicas, ...) has no leader; {@link #backendUp} keeps the same history
 * of its backend instead: "leader" is {@value #ANY_UP} while any member is UP, so elections and
 * losses are the backend's transitions to UP and DOWN and the time without leader is its downtime.
 */
public final class LeaderHistory implements ClusterListener {

    /**
     * One change of leader.
     *
     * @param from          the previous leader, null when there was none
     * @param to            the new leader, null when none is UP any more
     * @param timeline      the new leader's Patroni timeline, -1 when none or unknown
     * @param withoutLeader for a new leader after a time without one: how long that time was; else null
     */
    public record Change(Instant at, String from, String to, long timeline, Duration withoutLeader) {
    }

    public static final int DEFAULT_CAPACITY = 20;

    /** The "leader" of a balanced listener's history while any of its members is UP. */
    public static final String ANY_UP = "UP";

    private final int capacity;
    private final Function<ClusterView, String> leaderOf;
    private final Deque<Change> changes = new ArrayDeque<>();
    private String leader;
    private Instant leaderSince;
    private Instant leaderlessSince;
    private Duration leaderlessBefore = Duration.ZERO;
    private long elections;
    private long losses;

    public LeaderHistory(int capacity, Clock clock) {
        this(capacity, clock, view -> view.leaderName().orElse(null));
    }

    private LeaderHistory(int capacity, Clock clock, Function<ClusterView, String> leaderOf) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1");
        }
        this.capacity = capacity;
        this.leaderOf = leaderOf;
        this.leaderlessSince = clock.instant();
    }

    /** A balanced listener's backend: UP while any member is UP (HAProxy's backend status). */
    public static LeaderHistory backendUp(int capacity, Clock clock) {
        return new LeaderHistory(capacity, clock, view -> view.upCount() > 0 ? ANY_UP : null);
    }

    @Override
    public void onChange(ClusterView before, ClusterView after) {
        observe(after);
    }

    /** Takes note of {@code view}'s leader. */
    public synchronized void observe(ClusterView view) {
        String now = leaderOf.apply(view);
        if (Objects.equals(leader, now)) {
            return;
        }
        Instant at = view.at();
        Duration without = null;
        if (leader == null) {
            without = nonNegative(Duration.between(leaderlessSince, at));
            leaderlessBefore = leaderlessBefore.plus(without);
            leaderlessSince = null;
        }
        if (now == null) {
            leaderlessSince = at;
            leaderSince = null;
            losses++;
        } else {
            leaderSince = at;
            elections++;
        }
        long timeline = view.leaderMember().map(MemberView::lastKnownTimeline).orElse(-1L);
        changes.addFirst(new Change(at, leader, now, timeline, without));
        if (changes.size() > capacity) {
            changes.removeLast();
        }
        leader = now;
    }

    /** The latest changes, newest first. */
    public synchronized List<Change> changes() {
        return new ArrayList<>(changes);
    }

    public synchronized Optional<String> leader() {
        return Optional.ofNullable(leader);
    }

    /** Since when the cluster has had its current leader, or has had none. */
    public synchronized Instant lastChange() {
        return leader == null ? leaderlessSince : leaderSince;
    }

    /** When the current time without leader began; empty while there is a leader. */
    public synchronized Optional<Instant> leaderlessSince() {
        return Optional.ofNullable(leaderlessSince);
    }

    /** How many times a member became the leader (the first leader after start counts). */
    public synchronized long elections() {
        return elections;
    }

    /** How many times the cluster lost its leader with no other member UP (the backend went DOWN). */
    public synchronized long losses() {
        return losses;
    }

    /** Total time without a leader since Patroxy started, up to {@code now}. */
    public synchronized Duration leaderlessTotal(Instant now) {
        if (leaderlessSince == null) {
            return leaderlessBefore;
        }
        return leaderlessBefore.plus(nonNegative(Duration.between(leaderlessSince, now)));
    }

    private static Duration nonNegative(Duration d) {
        return d.isNegative() ? Duration.ZERO : d;
    }
}
