package io.patroxy.cluster;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import org.jboss.logging.Logger;

import io.patroxy.config.MemberAddress;
import io.patroxy.health.CheckOutcome;
import io.patroxy.health.MemberHealth;

/**
 * Turns check outcomes into immutable {@link ClusterView} snapshots. The only writer of the view;
 * health checkers report here and never touch sessions, listeners react to the new snapshot.
 */
public final class ClusterRegistry {

    private static final Logger LOG = Logger.getLogger(ClusterRegistry.class);

    private final AtomicReference<ClusterView> view;
    private final List<ClusterListener> listeners = new CopyOnWriteArrayList<>();
    private final boolean leaderRole;
    private final String name;
    private final int fall;
    private final int rise;
    private final Clock clock;
    private volatile boolean discoveryCanRemove;
    private volatile DcsInput dcs = DcsInput.NONE;

    /** For a leader role (primary, leader): snapshots name the leader. */
    public ClusterRegistry(List<MemberAddress> members, int fall, int rise, Clock clock) {
        this("", members, fall, rise, clock, true);
    }

    /**
     * @param name       the listener's, for the log ("" for the only one)
     * @param leaderRole false for a balanced role: no leader is selected, several members UP is normal
     */
    public ClusterRegistry(String name, List<MemberAddress> members, int fall, int rise, Clock clock, boolean leaderRole) {
        this.name = name;
        this.leaderRole = leaderRole;
        this.fall = fall;
        this.rise = rise;
        this.clock = clock;
        List<MemberView> initial = new ArrayList<>();
        for (MemberAddress m : members) {
            initial.add(MemberView.unchecked(m, MemberHealth.initial(fall, rise), clock.instant()));
        }
        view = new AtomicReference<>(new ClusterView(initial, null, false, false, clock.instant()));
    }

    public ClusterView view() {
        return view.get();
    }

    public void addListener(ClusterListener listener) {
        listeners.add(listener);
    }

    /**
     * The members changed (discovery): new ones join unchecked (not routable until their first
     * check), gone ones leave the snapshot — a session still on one is dropped like on mark-down.
     */
    public synchronized void setMembers(List<MemberAddress> addresses) {
        discoveryCanRemove = true;
        ClusterView before = view.get();
        List<MemberView> members = new ArrayList<>();
        for (MemberAddress a : addresses) {
            members.add(before.member(a.name()).orElseGet(() -> MemberView.unchecked(a, MemberHealth.initial(fall, rise), clock.instant())));
        }
        publish(before, members, clock.instant(), null, null);
    }

    /**
     * The operator's word on one member (the admin API): a new snapshot, selected and published
     * like a check's, so routing and drops follow it by the same rules.
     *
     * @return what the member was in before
     * @throws IllegalArgumentException for a member this listener does not have
     */
    public synchronized AdminState setAdmin(String memberName, AdminState state) {
        ClusterView before = view.get();
        MemberView previous = before.member(memberName)
                .orElseThrow(() -> new IllegalArgumentException("unknown member " + memberName));
        if (previous.admin() == state) {
            return state;
        }
        List<MemberView> members = new ArrayList<>(before.members().size());
        for (MemberView m : before.members()) {
            members.add(m == previous ? m.withAdmin(state, clock.instant()) : m);
        }
        publish(before, members, clock.instant(), null, null);
        return previous.admin();
    }

    /** Selects, publishes the snapshot (before anyone is told), logs, then tells the listeners. */
    private void publish(ClusterView before, List<MemberView> members, java.time.Instant at, MemberView previous,
            MemberView updated) {
        ClusterView after = snapshot(members, at);
        view.set(after);
        if (previous != null) {
            logMemberChange(name, previous, updated, after);
        }
        if (leaderRole) {
            logLeaderChange(before, after);
        }
        notifyListeners(before, after);
    }

    /**
     * What Patroni's DCS says changed (the ZooKeeper watch): the same members, selected again.
     * A leader role only; the DCS takes routing away from a deposed member, never grants it.
     */
    public synchronized void setDcs(DcsInput input) {
        if (!leaderRole || input.equals(dcs)) {
            return;
        }
        dcs = input;
        ClusterView before = view.get();
        ClusterView after = snapshot(before.members(), clock.instant());
        view.set(after);
        before.members().stream().filter(m -> m.isUp() && !before.deposedByDcs(m.name()) && after.deposedByDcs(m.name()))
                .forEach(m -> LOG.warnf("%smember %s: Patroni's leader key is on %s: no new sessions, its sessions are closed",
                        name.isEmpty() ? "" : "listener " + name + ": ", m.name(), input.describe()));
        logLeaderChange(before, after);
        notifyListeners(before, after);
    }

    private ClusterView snapshot(List<MemberView> members, java.time.Instant at) {
        DcsInput input = dcs;
        LeaderSelector.Selection selection = leaderRole ? LeaderSelector.select(members, input) : LeaderSelector.Selection.none();
        return new ClusterView(members, selection.leader().orElse(null), selection.contested(), selection.splitBrain(), at,
                input, selection.withheld().orElse(null));
    }

    private void notifyListeners(ClusterView before, ClusterView after) {
        for (ClusterListener listener : listeners) {
            try {
                listener.onChange(before, after);
            } catch (RuntimeException e) {
                LOG.errorf(e, "cluster listener %s failed", listener);
            }
        }
    }

    /** Applies one check result of one member and publishes the resulting snapshot. */
    public synchronized void record(String memberName, CheckOutcome outcome) {
        ClusterView before = view.get();
        List<MemberView> members = new ArrayList<>(before.members().size());
        MemberView previous = null;
        MemberView updated = null;
        for (MemberView m : before.members()) {
            if (m.name().equals(memberName)) {
                previous = m;
                updated = m.next(outcome);
                members.add(updated);
            } else {
                members.add(m);
            }
        }
        if (updated == null) {
            if (discoveryCanRemove) {
                return; // a member discovery removed while its last check was in flight
            }
            throw new IllegalArgumentException("unknown member " + memberName);
        }
        if (previous.inMaint()) {
            return; // checks are paused in MAINT: one that was under way when it began is not heard
        }
        publish(before, members, outcome.finishedAt(), previous, updated);
    }

    private static void logMemberChange(String listener, MemberView previous, MemberView updated, ClusterView after) {
        String was = previous.display();
        String now = updated.display();
        if (was.equals(now)) {
            return;
        }
        String line = String.format((listener.isEmpty() ? "" : "listener " + listener + ": ") + "member %s: %s -> %s, reason: %s, patroni role: %s; %d of %d members UP",
                updated.name(), was, now, updated.lastCheck().describe(), updated.patroni().role(),
                after.upCount(), after.members().size());
        if (previous.isUp() && !updated.isUp()) {
            LOG.warn(line);
        } else {
            LOG.info(line);
        }
    }

    private static void logLeaderChange(ClusterView before, ClusterView after) {
        String was = before.leaderName().orElse(null);
        String now = after.leaderName().orElse(null);
        if (!Objects.equals(was, now)) {
            if (now == null && after.splitBrain()) {
                LOG.errorf("leader: %s -> NONE (split brain)", was);
            } else if (now == null && after.dcs().leader() != null && after.upCount() > 0) {
                LOG.warnf("leader: %s -> NONE: Patroni's leader key is on %s, which is not UP yet; new sessions wait up to the hold",
                        was, after.dcs().describe());
            } else if (now == null && after.withheld() != null) {
                LOG.warnf("leader: %s -> NONE: %s leads but is in %s by an administrator; new sessions wait up to the hold, then are refused",
                        was, after.withheld().name(), after.withheld().admin());
            } else if (now == null) {
                LOG.warnf("leader: %s -> NONE: no member is UP, new sessions wait up to the hold, then are refused", was);
            } else {
                LOG.warnf("leader: %s -> %s (timeline %d): new sessions go to %s", was == null ? "NONE" : was, now,
                        after.leader().lastKnownTimeline(), now);
            }
        }
        if (after.splitBrain() && !before.splitBrain()) {
            LOG.errorf("SPLIT BRAIN: several members pass the check with the same timeline (%s); new sessions are held until it resolves",
                    after.describeMembers());
        }
        if (after.contested() && !after.splitBrain() && (!before.contested() || !Objects.equals(was, now))) {
            LOG.warnf("%d members are UP at once; new sessions go to %s only (highest last-known timeline, then latest check passed, then configuration order)",
                    after.upCount(), now);
        }
    }
}
