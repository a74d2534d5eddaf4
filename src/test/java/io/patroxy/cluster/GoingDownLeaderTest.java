package io.patroxy.cluster;

import static io.patroxy.cluster.Views.T0;
import static io.patroxy.cluster.Views.primary;
import static io.patroxy.cluster.Views.refused;
import static io.patroxy.cluster.Views.replica;
import static io.patroxy.cluster.Views.timedOut;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import java.time.Clock;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.patroxy.cluster.DropPolicy.Verdict;
import io.patroxy.config.ListenerSpec;
import io.patroxy.config.MemberAddress;

/**
 * A leader Patroni says no for is going down: between its first "no" and its mark-down (fall) it
 * keeps its sessions and its place as leader, but gets no new session — a login begun then would be
 * cut by the mark-down a second later (the switchover window RealClusterIT once caught). A check that
 * merely timed out or was refused says nothing of the role: HAProxy's tolerance holds.
 */
class GoingDownLeaderTest {

    private static final List<MemberAddress> MEMBERS = MemberAddress.parseList("n0=127.0.0.2,n1=127.0.0.3");
    private final ClusterRegistry primary = new ClusterRegistry("", MEMBERS, 3, 2, Clock.fixed(T0, ZoneOffset.UTC), true);
    private final Routing leaderRouting = Routing.leader("", primary::view);

    private RouteView now() {
        return leaderRouting.now();
    }

    @Test
    void patronisNoStopsNewSessionsAtOnceKeepsTheOpenOnesAndAPassingCheckRoutesAgain() {
        primary.record("n0", primary(1, 0));
        primary.record("n1", replica(0));
        RouteView before = now();
        assertThat(Routing.candidates(before)).extracting(MemberView::name).containsExactly("n0");

        primary.record("n0", replica(3)); // the switchover demotes n0: UP 2/3
        RouteView goingDown = now();
        assertThat(goingDown.own().leaderName()).contains("n0"); // still the leader: stats, history, metrics
        assertThat(goingDown.own().member("n0").orElseThrow().display()).isEqualTo("UP 2/3");
        assertThat(Routing.candidates(goingDown)).isEmpty(); // new sessions wait
        assertThat(DropPolicy.mayRoute(goingDown, "n0")).isFalse(); // handshakes step back
        assertThat(DropPolicy.verdict(goingDown, "n0")).isEqualTo(Verdict.KEEP_RELAYING); // relaying ones stay
        assertThat(DropPolicy.changes(before, goingDown)).extracting(DropPolicy.Change::member, DropPolicy.Change::verdict)
                .containsExactly(tuple("n0", Verdict.KEEP_RELAYING)); // its sessions are told: handshakes go back to the hold
        assertThat(goingDown.noneMessage()).contains("n0 leads but Patroni answered its latest check with L7STS 503");

        primary.record("n0", primary(1, 4)); // a one-off no: the next pass routes again, nobody was dropped
        RouteView back = now();
        assertThat(Routing.candidates(back)).extracting(MemberView::name).containsExactly("n0");
        assertThat(DropPolicy.changes(goingDown, back)).extracting(DropPolicy.Change::verdict).containsExactly(Verdict.ROUTE);
    }

    @Test
    void throughTheWholeSwitchoverNoSnapshotRoutesToTheDemotedLeader() {
        primary.record("n0", primary(1, 0));
        primary.record("n1", replica(0));
        primary.record("n0", replica(3));
        primary.record("n0", replica(4));
        assertThat(Routing.candidates(now())).isEmpty();
        primary.record("n1", primary(2, 4)); // the candidate promoted: DOWN 1/2
        assertThat(Routing.candidates(now())).isEmpty();
        primary.record("n1", primary(2, 5)); // UP: it leads on the newer timeline
        assertThat(Routing.candidates(now())).extracting(MemberView::name).containsExactly("n1");
        assertThat(DropPolicy.verdict(now(), "n0")).isEqualTo(Verdict.LEADER_CHANGED);
        primary.record("n0", replica(5)); // DOWN now
        assertThat(DropPolicy.verdict(now(), "n0")).isEqualTo(Verdict.MEMBER_DOWN);
    }

    @Test
    void aTimeoutOrARefusedConnectionKeepsHAProxysToleranceForNewSessions() {
        primary.record("n0", primary(1, 0));
        primary.record("n0", timedOut(3));
        assertThat(Routing.candidates(now())).extracting(MemberView::name).containsExactly("n0");
        assertThat(DropPolicy.verdict(now(), "n0")).isEqualTo(Verdict.ROUTE);
        primary.record("n0", refused(4));
        assertThat(Routing.candidates(now())).extracting(MemberView::name).containsExactly("n0");
        primary.record("n0", replica(5)); // the third failure: DOWN, whatever its kind
        assertThat(DropPolicy.verdict(now(), "n0")).isEqualTo(Verdict.MEMBER_DOWN);
    }

    @Test
    void aReplicasListenerFallingBackToTheLeaderWaitsToo() {
        primary.record("n0", primary(1, 0));
        ClusterRegistry replicas = new ClusterRegistry("replicas", MEMBERS, 3, 2, Clock.fixed(T0, ZoneOffset.UTC), false);
        Routing withFallback = Routing.balanced("replicas", ListenerSpec.Balance.ROUNDROBIN, true, replicas::view, primary::view);
        replicas.record("n0", replica(0));
        replicas.record("n1", replica(0)); // no replica UP: the fallback is the leader
        assertThat(Routing.candidates(withFallback.now())).extracting(MemberView::name).containsExactly("n0");
        primary.record("n0", replica(3));
        assertThat(Routing.candidates(withFallback.now())).isEmpty();
        assertThat(DropPolicy.verdict(withFallback.now(), "n0")).isEqualTo(Verdict.KEEP_RELAYING);
    }
}
