package io.patroxy.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;

import io.patroxy.config.ListenerSpec.Balance;

/**
 * How one listener routes: its rules (a leader role, or balanced with its options) and where its
 * snapshots come from — its own members' check state and, for a balanced listener with fallback,
 * the leader listener's. {@link #now()} takes both at once into an immutable {@link RouteView};
 * the pure functions below and in {@link DropPolicy} decide from a RouteView only.
 */
public final class Routing {

    private final String listener;
    private final boolean leaderRole;
    private final Balance balance;
    private final boolean dropOnDown;
    private final Supplier<ClusterView> own;
    private final Supplier<ClusterView> fallback;

    private Routing(String listener, boolean leaderRole, Balance balance, boolean dropOnDown,
            Supplier<ClusterView> own, Supplier<ClusterView> fallback) {
        this.listener = listener;
        this.leaderRole = leaderRole;
        this.balance = balance;
        this.dropOnDown = dropOnDown;
        this.own = own;
        this.fallback = fallback;
    }

    /** A leader role (primary, leader): one member at a time, with the split-brain guard. */
    public static Routing leader(String listener, Supplier<ClusterView> own) {
        return new Routing(listener, true, Balance.LEASTCONN, true, own, null);
    }

    /** A balanced role; {@code fallback} null: no fallback to the leader. */
    public static Routing balanced(String listener, Balance balance, boolean dropOnDown, Supplier<ClusterView> own,
            Supplier<ClusterView> fallback) {
        return new Routing(listener, false, balance, dropOnDown, own, fallback);
    }

    public String listener() {
        return listener;
    }

    public boolean leaderRole() {
        return leaderRole;
    }

    public boolean dropOnDown() {
        return dropOnDown;
    }

    /** Both snapshots, read now (own first). */
    public RouteView now() {
        ClusterView mine = own.get();
        return new RouteView(this, mine, fallback == null ? null : fallback.get());
    }

    /**
     * The member a new session goes to, if any: the leader for a leader role; for a balanced role
     * one of the UP members (fewest sessions, or in turn; ties in turn) — or, with fallback and
     * none UP, the leader listener's leader.
     */
    public static Optional<MemberView> pick(RouteView v, ToIntFunction<String> sessionsOn, long turn) {
        List<MemberView> candidates = candidates(v);
        if (candidates.isEmpty()) {
            return Optional.empty();
        }
        int n = candidates.size();
        int start = (int) Math.floorMod(turn, (long) n);
        if (v.routing().balance == Balance.ROUNDROBIN) {
            return Optional.of(candidates.get(start));
        }
        MemberView best = null;
        int bestLoad = Integer.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            MemberView m = candidates.get((start + i) % n);
            int load = sessionsOn.applyAsInt(m.name());
            if (load < bestLoad) {
                best = m;
                bestLoad = load;
            }
        }
        return Optional.of(best);
    }

    /**
     * Members new sessions may go to now, in configuration order: UP by their checks and READY by
     * the operator (a member in DRAIN or MAINT never gets a new session, whatever its checks say);
     * for a leader role, and a fallback to it, the leader only while Patroni's latest answer for it
     * was not no ({@link ClusterView#routableLeader()}).
     */
    public static List<MemberView> candidates(RouteView v) {
        if (v.routing().leaderRole) {
            // the selector withholds a leader in DRAIN or MAINT; a leader Patroni just said no for is going down
            return v.own().routableLeader().map(List::of).orElse(List.of());
        }
        List<MemberView> up = new ArrayList<>();
        for (MemberView m : v.own().members()) {
            if (m.takesNewSessions()) {
                up.add(m);
            }
        }
        MemberView leader = up.isEmpty() && v.fallback() != null ? v.fallback().routableLeader().orElse(null) : null;
        if (leader != null) {
            boolean heldHere = v.own().member(leader.name()).map(m -> !m.admin().takesNewSessions()).orElse(false);
            return heldHere ? List.of() : List.of(leader);
        }
        return up;
    }
}
