package io.patroxy.cluster;

import static io.patroxy.cluster.Views.primary;
import static io.patroxy.cluster.Views.replica;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.patroxy.config.MemberAddress;

/**
 * Patroni's leader key as an input to the pure selector and drop policy: it takes routing away from
 * a member that lost the key to another member, never grants it, and a stale key (the holder on an
 * older timeline than the member it would depose) deposes nobody.
 */
class DcsInputTest {

    private final ClusterRegistry cluster = new ClusterRegistry(MemberAddress.parseList("a=127.0.0.2,b=127.0.0.3"), 3, 2,
            Clock.fixed(Views.T0, ZoneOffset.UTC));
    private final List<ClusterView[]> notified = new java.util.ArrayList<>();

    DcsInputTest() {
        cluster.addListener((before, after) -> notified.add(new ClusterView[] {before, after}));
    }

    /** a leads (UP, timeline 1), b a healthy replica (DOWN on /primary, timeline 1). */
    private void aLeads() {
        cluster.record("a", primary(1, 0));
        cluster.record("b", replica(0));
        assertThat(cluster.view().leaderName()).contains("a");
    }

    @Test
    void theKeyMovingToAnotherMemberTakesRoutingAwayAtOnceAndDropsItsSessions() {
        aLeads();
        notified.clear();
        cluster.setDcs(new DcsInput("b", "b"));
        ClusterView view = cluster.view();
        assertThat(view.leader()).as("a deposed, b not UP yet: no leader").isNull();
        assertThat(view.member("a").orElseThrow().isUp()).as("the REST check still says UP").isTrue();
        assertThat(DropPolicy.verdict(view, "a")).isEqualTo(DropPolicy.Verdict.LEADER_CHANGED);
        RouteView before = new RouteView(Routing.leader("", cluster::view), notified.get(0)[0], null);
        RouteView after = new RouteView(Routing.leader("", cluster::view), notified.get(0)[1], null);
        assertThat(DropPolicy.changes(before, after)).singleElement().satisfies(c -> {
            assertThat(c.member()).isEqualTo("a");
            assertThat(c.verdict()).isEqualTo(DropPolicy.Verdict.LEADER_CHANGED);
            assertThat(c.why()).contains("Patroni's leader key moved from a to b");
        });
    }

    @Test
    void theKeyNeverGrantsRoutingTheHolderLeadsOnlyOnceItsOwnChecksSayUp() {
        aLeads();
        cluster.setDcs(new DcsInput("b", "b"));
        assertThat(DropPolicy.verdict(cluster.view(), "b")).isEqualTo(DropPolicy.Verdict.MEMBER_DOWN);
        cluster.record("b", primary(2, 1));
        assertThat(cluster.view().leaderName()).as("rise 2: one passed check is not enough").isEmpty();
        cluster.record("b", primary(2, 2));
        assertThat(cluster.view().leaderName()).contains("b");
        assertThat(DropPolicy.verdict(cluster.view(), "b")).isEqualTo(DropPolicy.Verdict.ROUTE);
    }

    @Test
    void aDeletedKeyDeposesNobodyTheChecksDecide() {
        aLeads();
        cluster.setDcs(new DcsInput("a", "a"));
        cluster.setDcs(DcsInput.NONE); // key deleted, or the watch lost its session
        assertThat(cluster.view().leaderName()).contains("a");
        assertThat(DropPolicy.verdict(cluster.view(), "a")).isEqualTo(DropPolicy.Verdict.ROUTE);
    }

    @Test
    void aStaleKeyNeverDeposesAMemberOnANewerTimeline() {
        cluster.record("a", replica(0));
        cluster.record("b", primary(2, 0));
        cluster.record("b", primary(2, 1));
        assertThat(cluster.view().leaderName()).contains("b");
        // a watch event that says a still holds the key, after b's checks reported timeline 2
        cluster.record("a", replica(2));
        cluster.setDcs(new DcsInput("a", "a"));
        assertThat(cluster.view().leaderName()).contains("b");
        assertThat(DropPolicy.verdict(cluster.view(), "b")).isEqualTo(DropPolicy.Verdict.ROUTE);
    }

    @Test
    void theOrderOfKeyAndChecksDoesNotMatterTheOldLeaderNeverGetsRoutingBack() {
        aLeads();
        // the checks notice first: a goes down, b rises
        cluster.record("a", replica(1));
        cluster.record("b", primary(1, 1));
        cluster.record("b", primary(1, 2));
        assertThat(cluster.view().leaderName()).as("b passes, a going down on the same timeline").contains("b");
        // then the key moves: nothing changes for b
        cluster.setDcs(new DcsInput("b", "b"));
        assertThat(cluster.view().leaderName()).contains("b");
        // a flaky pass of a (still UP 2/3) never puts it ahead of the key holder on the same timeline
        cluster.record("a", primary(1, 3));
        assertThat(cluster.view().leaderName()).contains("b");
        assertThat(cluster.view().splitBrain()).isFalse();
        assertThat(DropPolicy.verdict(cluster.view(), "a")).isEqualTo(DropPolicy.Verdict.LEADER_CHANGED);
    }

    @Test
    void theSameInputTwiceIsNoNewSnapshot() {
        aLeads();
        cluster.setDcs(new DcsInput("a", "a"));
        int seen = notified.size();
        cluster.setDcs(new DcsInput("a", "a"));
        assertThat(notified).hasSize(seen);
    }

    @Test
    void aBalancedListenerIgnoresTheKey() {
        ClusterRegistry replicas = new ClusterRegistry("replicas", MemberAddress.parseList("a=127.0.0.2,b=127.0.0.3"), 3, 2,
                Clock.fixed(Views.T0, ZoneOffset.UTC), false);
        replicas.record("a", primary(1, 0));
        ClusterView before = replicas.view();
        replicas.setDcs(new DcsInput("b", "b"));
        assertThat(replicas.view()).isSameAs(before);
    }
}
