package io.patroxy.cluster;

import static io.patroxy.cluster.Views.T0;
import static io.patroxy.cluster.Views.primary;
import static io.patroxy.cluster.Views.refused;
import static io.patroxy.cluster.Views.replica;
import static io.patroxy.cluster.Views.timedOut;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.patroxy.config.MemberAddress;

/** Snapshots and leader selection, as HAProxy would route with the seeds' config. */
class ClusterRegistryTest {

    private final ClusterRegistry registry = new ClusterRegistry(
            MemberAddress.parseList("n0=127.0.0.2,n1=127.0.0.3"), 3, 2, Clock.fixed(T0, ZoneOffset.UTC));
    private final List<ClusterView[]> changes = new ArrayList<>();

    {
        registry.addListener((before, after) -> changes.add(new ClusterView[] {before, after}));
    }

    @Test
    void noLeaderBeforeAnyCheck() {
        assertThat(registry.view().leader()).isNull();
        assertThat(registry.view().members()).extracting(MemberView::name).containsExactly("n0", "n1");
    }

    @Test
    void theMemberPassingPrimaryIsTheLeaderAndAHealthyReplicaIsDown() {
        registry.record("n0", primary(1, 0));
        registry.record("n1", replica(0));
        assertThat(registry.view().leaderName()).contains("n0");
        assertThat(registry.view().member("n1").orElseThrow().health().display()).isEqualTo("DOWN");
        assertThat(registry.view().contested()).isFalse();
    }

    @Test
    void leaderIsLostOnlyAfterFallFailures() {
        registry.record("n0", primary(1, 0));
        registry.record("n0", refused(3));
        registry.record("n0", refused(6));
        assertThat(registry.view().leaderName()).contains("n0");
        registry.record("n0", refused(9));
        assertThat(registry.view().leader()).isNull();
        MemberView n0 = registry.view().member("n0").orElseThrow();
        assertThat(n0.checkFailures()).isEqualTo(3);
        assertThat(n0.downTransitions()).isEqualTo(1);
        assertThat(n0.lastChange()).isEqualTo(T0.plusSeconds(9));
        assertThat(n0.downtime(T0.plusSeconds(19))).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void whileTheOldLeaderIsGoingDownTheRisenMemberWithAPassingCheckWins() {
        registry.record("n0", primary(1, 0));
        registry.record("n1", replica(0));
        registry.record("n0", replica(3)); // UP 2/3: still UP
        registry.record("n1", primary(2, 3)); // DOWN 1/2
        assertThat(registry.view().leaderName()).contains("n0");
        registry.record("n0", replica(6)); // UP 1/3
        registry.record("n1", primary(2, 6)); // UP: both UP, n1's latest check passed
        assertThat(registry.view().contested()).isTrue();
        assertThat(registry.view().leaderName()).contains("n1");
    }

    @Test
    void twoPassingMembersAreNeverSpreadTheHigherTimelineWins() {
        registry.record("n0", primary(1, 0));
        registry.record("n1", primary(2, 0));
        assertThat(registry.view().leaderName()).contains("n1");
        assertThat(registry.view().contested()).isTrue();
    }

    @Test
    void twoPassingMembersOnTheSameTimelineAreASplitBrainAndNobodyGetsSessions() {
        registry.record("n1", primary(1, 0));
        registry.record("n0", primary(1, 0));
        assertThat(registry.view().leader()).isNull();
        assertThat(registry.view().splitBrain()).isTrue();
        registry.record("n1", replica(3)); // n1 steps down: its latest check fails, n0 leads
        assertThat(registry.view().leaderName()).contains("n0");
        assertThat(registry.view().splitBrain()).isFalse();
    }

    @Test
    void twoPassingMembersWithoutAnyTimelineAreASplitBrainToo() {
        registry.record("n1", io.patroxy.health.CheckOutcomes.fromResponse(200, "", Duration.ofMillis(1), T0));
        registry.record("n0", io.patroxy.health.CheckOutcomes.fromResponse(200, "", Duration.ofMillis(1), T0));
        assertThat(registry.view().leader()).isNull();
        assertThat(registry.view().splitBrain()).isTrue();
    }

    /** Issue 9, failure 2: a flaky check of the newer primary never hands the lead to the older one. */
    @Test
    void aFlakyCheckOfTheNewerPrimaryKeepsItsLeadOverTheOlderPrimary() {
        registry.record("n0", primary(5, 0));
        registry.record("n1", primary(6, 0));
        assertThat(registry.view().leaderName()).contains("n1");
        registry.record("n1", timedOut(3)); // UP 2/3: its latest check failed, its timeline is still known
        registry.record("n0", primary(5, 3));
        assertThat(registry.view().leaderName()).contains("n1");
        registry.record("n1", timedOut(6)); // UP 1/3
        registry.record("n0", primary(5, 6));
        assertThat(registry.view().leaderName()).contains("n1");
        assertThat(registry.view().member("n1").orElseThrow().lastKnownTimeline()).isEqualTo(6);
        registry.record("n1", timedOut(9)); // DOWN: only now may the older primary lead
        assertThat(registry.view().leaderName()).contains("n0");
    }

    @Test
    void onEqualTimelinesTheMemberWhoseLatestCheckPassedWins() {
        registry.record("n0", primary(3, 0));
        registry.record("n1", primary(3, 0)); // split brain
        registry.record("n0", timedOut(3)); // n0 UP 2/3, latest check failed
        assertThat(registry.view().splitBrain()).isFalse();
        assertThat(registry.view().leaderName()).contains("n1");
    }

    @Test
    void listenersSeeEverySnapshotBeforeAndAfter() {
        registry.record("n0", primary(1, 0));
        registry.record("n0", primary(1, 3));
        assertThat(changes).hasSize(2);
        assertThat(changes.get(0)[0].leader()).isNull();
        assertThat(changes.get(0)[1].leaderName()).contains("n0");
        assertThat(changes.get(1)[0]).isSameAs(changes.get(0)[1]);
    }

    @Test
    void aFailingListenerDoesNotStopOthersOrTheSnapshot() {
        List<String> seen = new ArrayList<>();
        registry.addListener((b, a) -> {
            throw new IllegalStateException("boom");
        });
        registry.addListener((b, a) -> seen.add(a.leaderName().orElse("none")));
        registry.record("n0", primary(1, 0));
        assertThat(seen).containsExactly("n0");
        assertThat(registry.view().leaderName()).contains("n0");
    }

    @Test
    void unknownMemberIsAnError() {
        assertThatThrownBy(() -> registry.record("nope", primary(1, 0))).isInstanceOf(IllegalArgumentException.class);
    }
}
