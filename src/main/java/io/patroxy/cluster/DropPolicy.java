package io.patroxy.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The routing invariant, written once, as pure functions of cluster snapshots:
 *
 * <blockquote>While a leader L is known, no session is connecting to, handshaking with or relaying
 * to any member other than L for longer than one event-loop turn after the snapshot that made L
 * leader; while Patroni's latest answer for L is no (L is going down), no session is connecting to or
 * handshaking with L either — those that relay stay until L is marked DOWN. While no leader is
 * known, no new session is routed, and a relaying session is closed when its member goes DOWN or
 * another member becomes leader.</blockquote>
 *
 * <p>The operator's word ({@link AdminState}) is part of the snapshot: DRAIN takes new sessions
 * away and keeps the open ones, MAINT takes both (as a mark-down does), so a change of it is a
 * verdict change like any other.
 *
 * <p>{@link #verdict} says, for one member in one snapshot, what may happen to the sessions on it;
 * {@link #changes} says, from one snapshot to the next, whose sessions must be told. A session
 * told applies the verdict of the snapshot current when it handles the news on its own event loop,
 * so a late or repeated notice can never drop a session that may stay.
 */
public final class DropPolicy {

    /** What a member's sessions may do. */
    public enum Verdict {
        /** The leader: sessions connect, handshake and relay there. */
        ROUTE,
        /**
         * No leader is known and this member is UP, or it leads but Patroni answered its latest check
         * with no ({@link ClusterView#routableLeader()}): relaying sessions stay, handshakes step back and wait.
         */
        KEEP_RELAYING,
        /** Marked DOWN: every session on it goes (HAProxy's {@code on-marked-down shutdown-sessions}). */
        MEMBER_DOWN,
        /** Another member leads, or holds Patroni's leader key ({@link DcsInput}): every session on this one goes. */
        LEADER_CHANGED,
        /** An administrator put the member in MAINT: every session on it goes, as on mark-down. */
        MEMBER_MAINT;

        /** Whether a session that already relays on the member must be closed. */
        public boolean dropsRelaying() {
            return this == MEMBER_DOWN || this == LEADER_CHANGED || this == MEMBER_MAINT;
        }
    }

    /** A member whose verdict changed from one snapshot to the next. */
    public record Change(String member, Verdict verdict, String why) {
    }

    private DropPolicy() {
    }

    /**
     * For a leader role: its verdicts from the listener's own snapshot. The operator's word only
     * takes away: a member in MAINT loses its sessions; the elected member in DRAIN (withheld by
     * the selector) keeps them but gets no new ones; every other member's sessions go as when the
     * lead moves, to whichever member the checks elect, withheld or not.
     */
    public static Verdict verdict(ClusterView view, String member) {
        MemberView leader = view.leader();
        if (leader != null && leader.name().equals(member)) {
            return view.routableLeader().isPresent() ? Verdict.ROUTE : Verdict.KEEP_RELAYING; // going down: see routableLeader
        }
        MemberView m = view.member(member).orElse(null);
        if (m != null && m.inMaint()) {
            return Verdict.MEMBER_MAINT;
        }
        if (m == null || !m.isUp()) {
            return Verdict.MEMBER_DOWN;
        }
        return view.elected().filter(e -> !e.name().equals(member)).isPresent() || view.dcs().deposes(m, view.members())
                ? Verdict.LEADER_CHANGED : Verdict.KEEP_RELAYING;
    }

    /**
     * Any listener's verdict on a member. A balanced listener routes to every member that is UP and READY
     * (with fallback and none UP, to the leader listener's leader, whose sessions stay once a member
     * is UP again); a member that is not UP loses its sessions unless the listener says
     * {@code drop=off}.
     */
    public static Verdict verdict(RouteView v, String member) {
        if (v.routing().leaderRole()) {
            return verdict(v.own(), member);
        }
        MemberView m = v.own().member(member).orElse(null);
        if (m != null && m.inMaint()) {
            return v.routing().dropOnDown() ? Verdict.MEMBER_MAINT : Verdict.KEEP_RELAYING;
        }
        if (m != null && m.isUp()) {
            return m.admin().takesNewSessions() ? Verdict.ROUTE : Verdict.KEEP_RELAYING; // DRAIN: its sessions stay
        }
        if (v.fallback() != null && v.fallback().leaderName().filter(member::equals).isPresent()) {
            return Routing.candidates(v).stream().anyMatch(c -> c.name().equals(member)) ? Verdict.ROUTE : Verdict.KEEP_RELAYING;
        }
        return v.routing().dropOnDown() ? Verdict.MEMBER_DOWN : Verdict.KEEP_RELAYING;
    }

    /** Whether a session not relaying yet may go on with {@code member}. */
    public static boolean mayRoute(RouteView v, String member) {
        return verdict(v, member) == Verdict.ROUTE;
    }

    /** What a client whose session is dropped from {@code member} is told, after "terminating connection because ". */
    public static String why(RouteView v, String member) {
        return switch (verdict(v, member)) {
            case MEMBER_DOWN -> "member " + member + " was marked DOWN by Patroxy"
                    + (v.routing().leaderRole() ? "" : " on listener " + v.routing().listener()) + " ("
                    + v.own().member(member).map(MemberView::lastCheckSummary).orElse("it left Patroni's cluster") + ")";
            case LEADER_CHANGED -> v.routing().leaderRole() && v.own().deposedByDcs(member)
                    ? "Patroni's leader key moved from " + member + " to " + v.own().dcs().describe() + " (Patroxy)"
                    : "the leader moved from " + member + " to "
                            + v.own().elected().map(MemberView::name).orElse("another member") + " (Patroxy)";
            case MEMBER_MAINT -> "an administrator put member " + member + " in MAINT"
                    + (v.routing().leaderRole() ? "" : " on listener " + v.routing().listener()) + " (Patroxy)";
            case KEEP_RELAYING -> "no leader is known in cluster " + v.own().scope() + " (Patroxy)";
            case ROUTE -> member + " may have sessions";
        };
    }

    /**
     * The members whose verdict differs between {@code before} and {@code after}: their sessions
     * must be told. Comparing verdicts member by member, not leaders, means no path through the
     * snapshots (leader → none → another leader, a split brain, a flap) skips a drop.
     */
    public static List<Change> changes(RouteView before, RouteView after) {
        java.util.Set<String> names = new java.util.LinkedHashSet<>();
        after.own().members().forEach(m -> names.add(m.name()));
        before.own().members().forEach(m -> names.add(m.name())); // a member that left: its sessions go
        List<Change> changes = new ArrayList<>();
        for (String name : names) {
            Verdict was = verdict(before, name);
            Verdict now = verdict(after, name);
            if (!Objects.equals(was, now)) {
                changes.add(new Change(name, now, why(after, name)));
            }
        }
        return changes;
    }
}
