package io.patroxy.cluster;

import static io.patroxy.cluster.Views.T0;
import static io.patroxy.cluster.Views.primary;
import static io.patroxy.cluster.Views.replica;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.patroxy.cluster.DropPolicy.Verdict;
import io.patroxy.config.CheckSettings;
import io.patroxy.config.ListenerSpec;
import io.patroxy.config.MemberAddress;

/**
 * The operator's word (ready, drain, maint) as an input to the pure rules: the selector, routing,
 * drop verdicts and check pace. Pure: no sockets, a fixed clock.
 */
class AdminStateRoutingTest {

    private static final List<MemberAddress> MEMBERS = MemberAddress.parseList("n0=127.0.0.2,n1=127.0.0.3");
    private final ClusterRegistry primary = new ClusterRegistry("", MEMBERS, 3, 2, Clock.fixed(T0, ZoneOffset.UTC), true);
    private final Routing leaderRouting = Routing.leader("", primary::view);

    private RouteView now() {
        return leaderRouting.now();
    }

    private void leaderN0ReplicaN1() {
        primary.record("n0", primary(1, 0));
        primary.record("n1", replica(0));
        assertThat(primary.view().leaderName()).contains("n0");
    }

    @Test
    void aDrainedLeaderIsWithheldItsSessionsStayNewOnesWait() {
        leaderN0ReplicaN1();
        RouteView before = now();
        assertThat(primary.setAdmin("n0", AdminState.DRAIN)).isEqualTo(AdminState.READY);
        RouteView after = now();

        assertThat(after.own().leader()).isNull();
        assertThat(after.own().withheld().name()).isEqualTo("n0");
        assertThat(Routing.candidates(after)).isEmpty(); // no new session anywhere: held
        assertThat(DropPolicy.verdict(after, "n0")).isEqualTo(Verdict.KEEP_RELAYING);
        assertThat(DropPolicy.mayRoute(after, "n0")).isFalse();
        assertThat(DropPolicy.changes(before, after)).extracting(DropPolicy.Change::member, DropPolicy.Change::verdict)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("n0", Verdict.KEEP_RELAYING));
        assertThat(after.own().member("n0").orElseThrow().display()).isEqualTo("DRAIN");
        assertThat(after.noneMessage()).contains("n0 leads but an administrator put it in DRAIN");

        primary.setAdmin("n0", AdminState.READY);
        assertThat(now().own().leaderName()).contains("n0"); // drain changes no health: READY routes at once
        assertThat(DropPolicy.changes(after, now())).extracting(DropPolicy.Change::verdict).containsExactly(Verdict.ROUTE);
    }

    @Test
    void aDrainedMemberPassingItsCheckNeverGetsNewSessionsEvenWhenItIsTheNewerPrimary() {
        leaderN0ReplicaN1();
        primary.setAdmin("n1", AdminState.DRAIN);
        primary.record("n1", primary(2, 1)); // promoted behind a drain
        primary.record("n1", primary(2, 2));
        ClusterView v = primary.view();
        assertThat(v.leader()).isNull(); // the operator's word wins over the check...
        assertThat(v.withheld().name()).isEqualTo("n1");
        // ...and never hands the lead back to the older primary: its sessions go as when the lead moves
        assertThat(DropPolicy.verdict(now(), "n0")).isEqualTo(Verdict.LEADER_CHANGED);
        assertThat(DropPolicy.why(now(), "n0")).contains("from n0 to n1");
        assertThat(IntervalPolicy.next(checks(), v, "n0")).isEqualTo(Duration.ofSeconds(3)); // settled: someone is elected
    }

    @Test
    void maintDropsTheSessionsAsOnMarkDownPausesTheChecksAndResumingGoesThroughRise() {
        leaderN0ReplicaN1();
        RouteView before = now();
        primary.setAdmin("n0", AdminState.MAINT);
        RouteView after = now();
        assertThat(DropPolicy.verdict(after, "n0")).isEqualTo(Verdict.MEMBER_MAINT);
        assertThat(Verdict.MEMBER_MAINT.dropsRelaying()).isTrue();
        assertThat(DropPolicy.changes(before, after)).extracting(DropPolicy.Change::verdict).containsExactly(Verdict.MEMBER_MAINT);
        assertThat(DropPolicy.why(after, "n0")).isEqualTo("an administrator put member n0 in MAINT (Patroxy)");
        assertThat(after.own().member("n0").orElseThrow().display()).isEqualTo("MAINT");
        assertThat(Routing.candidates(after)).isEmpty();

        ClusterView frozen = primary.view();
        primary.record("n0", replica(5)); // a check that was under way: not heard
        assertThat(primary.view()).isSameAs(frozen);

        primary.setAdmin("n0", AdminState.READY);
        MemberView n0 = primary.view().member("n0").orElseThrow();
        assertThat(n0.display()).isEqualTo("DOWN"); // its state from before the pause is stale
        assertThat(primary.view().leader()).isNull();
        primary.record("n0", primary(1, 6));
        assertThat(primary.view().member("n0").orElseThrow().display()).isEqualTo("DOWN 1/2");
        assertThat(primary.view().leader()).isNull();
        primary.record("n0", primary(1, 7));
        assertThat(primary.view().leaderName()).contains("n0");
    }

    @Test
    void maintOnTheSwitchoverCandidateItIsNeverRoutedToWhatEverPatroniDoes() {
        leaderN0ReplicaN1();
        primary.setAdmin("n1", AdminState.MAINT);
        primary.record("n1", primary(2, 1)); // Patroni promoted it: its checks are paused, Patroxy does not know
        primary.record("n1", primary(2, 2));
        primary.record("n0", replica(3)); // the old leader demoted
        primary.record("n0", replica(4));
        primary.record("n0", replica(5));
        ClusterView v = primary.view();
        assertThat(v.leader()).isNull();
        assertThat(v.member("n1").orElseThrow().display()).isEqualTo("MAINT");
        assertThat(DropPolicy.verdict(now(), "n1")).isEqualTo(Verdict.MEMBER_MAINT);
        assertThat(now().noneMessage()).contains("n1 MAINT");
        // ready: checked again, UP after rise, then it leads
        primary.setAdmin("n1", AdminState.READY);
        primary.record("n1", primary(2, 6));
        primary.record("n1", primary(2, 7));
        assertThat(primary.view().leaderName()).contains("n1");
    }

    @Test
    void aMaintLeaderKeepsItsFrozenTimelineSoAnOlderPrimaryStillGoingDownDoesNotLead() {
        primary.record("n0", primary(1, 0));
        primary.record("n1", primary(2, 1)); // n1 promoted (timeline 2) while n0 is still UP
        primary.record("n0", replica(2)); // n0 going down: UP 2/3
        assertThat(primary.view().leaderName()).contains("n1");
        primary.setAdmin("n1", AdminState.MAINT);
        assertThat(primary.view().leader()).isNull();
        assertThat(DropPolicy.verdict(now(), "n0")).isEqualTo(Verdict.LEADER_CHANGED);
    }

    @Test
    void anUnknownMemberIsRefusedAndNothingChanges() {
        ClusterView before = primary.view();
        assertThatThrownBy(() -> primary.setAdmin("nope", AdminState.DRAIN)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nope");
        assertThat(primary.view()).isSameAs(before);
    }

    @Test
    void settingTheSameStateAgainPublishesNothing() {
        leaderN0ReplicaN1();
        primary.setAdmin("n0", AdminState.DRAIN);
        ClusterView v = primary.view();
        assertThat(primary.setAdmin("n0", AdminState.DRAIN)).isEqualTo(AdminState.DRAIN);
        assertThat(primary.view()).isSameAs(v);
    }

    @Test
    void aBalancedListenerRoutesToNoMemberInDrainOrMaintAndMaintDropsUnlessDropOff() {
        ClusterRegistry replicas = new ClusterRegistry("replicas", MEMBERS, 3, 2, Clock.fixed(T0, ZoneOffset.UTC), false);
        replicas.record("n0", primary(1, 0));
        replicas.record("n1", primary(1, 0));
        Routing drop = Routing.balanced("replicas", ListenerSpec.Balance.LEASTCONN, true, replicas::view, null);
        Routing keep = Routing.balanced("replicas", ListenerSpec.Balance.LEASTCONN, false, replicas::view, null);

        replicas.setAdmin("n0", AdminState.DRAIN);
        assertThat(Routing.candidates(drop.now())).extracting(MemberView::name).containsExactly("n1");
        assertThat(DropPolicy.verdict(drop.now(), "n0")).isEqualTo(Verdict.KEEP_RELAYING);

        replicas.setAdmin("n0", AdminState.MAINT);
        assertThat(DropPolicy.verdict(drop.now(), "n0")).isEqualTo(Verdict.MEMBER_MAINT);
        assertThat(DropPolicy.verdict(keep.now(), "n0")).isEqualTo(Verdict.KEEP_RELAYING); // drop=off: as on mark-down
        assertThat(DropPolicy.why(drop.now(), "n0")).contains("on listener replicas");
    }

    @Test
    void theFallbackLeaderHeldOnTheBalancedListenerGetsNoSessionThere() {
        leaderN0ReplicaN1();
        ClusterRegistry replicas = new ClusterRegistry("replicas", MEMBERS, 3, 2, Clock.fixed(T0, ZoneOffset.UTC), false);
        replicas.record("n0", replica(0));
        replicas.record("n1", replica(0));
        Routing routing = Routing.balanced("replicas", ListenerSpec.Balance.LEASTCONN, true, replicas::view, primary::view);
        assertThat(Routing.candidates(routing.now())).extracting(MemberView::name).containsExactly("n0");
        replicas.setAdmin("n0", AdminState.DRAIN);
        assertThat(Routing.candidates(routing.now())).isEmpty();
        assertThat(DropPolicy.verdict(routing.now(), "n0")).isEqualTo(Verdict.KEEP_RELAYING);
    }

    @Test
    void drainShowsAsHaproxyShowsIt() {
        primary.record("n0", primary(1, 0));
        primary.setAdmin("n0", AdminState.DRAIN);
        primary.record("n0", replica(1));
        assertThat(primary.view().member("n0").orElseThrow().display()).isEqualTo("DRAIN 2/3");
        primary.record("n0", replica(2));
        primary.record("n0", replica(3));
        assertThat(primary.view().member("n0").orElseThrow().display()).isEqualTo("DOWN"); // HAProxy: DOWN wins over DRAIN
        assertThat(AdminState.parse("Maint")).contains(AdminState.MAINT);
        assertThat(AdminState.parse("down")).isEmpty();
    }

    private static CheckSettings checks() {
        return new CheckSettings(Duration.ofSeconds(3), 3, 2, Duration.ofSeconds(5), "/primary", "http",
                Duration.ofMillis(500), Duration.ofMillis(500));
    }
}
