package io.patroxy.cluster;

import static io.patroxy.cluster.Views.T0;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.patroxy.config.ListenerSpec;
import io.patroxy.config.MemberAddress;
import io.patroxy.health.CheckOutcomes;

/** A balanced listener's routing and drop verdicts (issue 12), pure: no sockets, no clock. */
class BalancedRoutingTest {

    private final java.util.List<MemberAddress> members = MemberAddress.parseList("n0=127.0.0.2,n1=127.0.0.3,n2=127.0.0.4");
    private final ClusterRegistry replicas = new ClusterRegistry("replicas", members, 3, 2, Clock.fixed(T0, ZoneOffset.UTC), false);
    private final ClusterRegistry primary = new ClusterRegistry("primary", members, 3, 2, Clock.fixed(T0, ZoneOffset.UTC), true);
    private final Map<String, Integer> load = new HashMap<>();

    private void passes(ClusterRegistry r, String member) {
        r.record(member, CheckOutcomes.fromResponse(200, "{\"role\":\"replica\",\"timeline\":3}", Duration.ofMillis(1), T0));
    }

    private void fails(ClusterRegistry r, String member) {
        r.record(member, CheckOutcomes.fromResponse(503, "{\"role\":\"primary\",\"timeline\":3}", Duration.ofMillis(1), T0));
    }

    private Routing routing(ListenerSpec.Balance balance, boolean drop, boolean fallback) {
        return Routing.balanced("replicas", balance, drop, replicas::view, fallback ? primary::view : null);
    }

    private String pick(Routing r, long turn) {
        return Routing.pick(r.now(), m -> load.getOrDefault(m, 0), turn).map(MemberView::name).orElse(null);
    }

    @Test
    void severalPassingMembersAreNormalAndNobodyIsALeader() {
        passes(replicas, "n1");
        passes(replicas, "n2");
        assertThat(replicas.view().leader()).isNull();
        assertThat(replicas.view().splitBrain()).isFalse();
        assertThat(Routing.candidates(routing(ListenerSpec.Balance.LEASTCONN, true, false).now()))
                .extracting(MemberView::name).containsExactly("n1", "n2");
    }

    @Test
    void leastConnectionsPicksTheEmptierMemberAndTiesGoInTurn() {
        passes(replicas, "n1");
        passes(replicas, "n2");
        Routing r = routing(ListenerSpec.Balance.LEASTCONN, true, false);
        load.put("n1", 3);
        load.put("n2", 1);
        assertThat(pick(r, 0)).isEqualTo("n2");
        assertThat(pick(r, 1)).isEqualTo("n2");
        load.put("n1", 1);
        assertThat(pick(r, 0)).isEqualTo("n1");
        assertThat(pick(r, 1)).isEqualTo("n2");
    }

    @Test
    void roundRobinGoesInTurnWhateverTheLoad() {
        passes(replicas, "n0");
        passes(replicas, "n2");
        load.put("n0", 100);
        Routing r = routing(ListenerSpec.Balance.ROUNDROBIN, true, false);
        assertThat(pick(r, 0)).isEqualTo("n0");
        assertThat(pick(r, 1)).isEqualTo("n2");
        assertThat(pick(r, 2)).isEqualTo("n0");
    }

    @Test
    void aMemberMarkedDownLosesItsSessionsUnlessDropIsOff() {
        passes(replicas, "n1");
        RouteView before = routing(ListenerSpec.Balance.LEASTCONN, true, false).now();
        for (int i = 0; i < 3; i++) {
            fails(replicas, "n1");
        }
        RouteView after = routing(ListenerSpec.Balance.LEASTCONN, true, false).now();
        assertThat(DropPolicy.verdict(after, "n1")).isEqualTo(DropPolicy.Verdict.MEMBER_DOWN);
        assertThat(DropPolicy.changes(before, after)).extracting(DropPolicy.Change::member).containsExactly("n1");
        assertThat(DropPolicy.why(after, "n1")).isEqualTo("member n1 was marked DOWN by Patroxy on listener replicas (L7STS 503)");
        RouteView keep = routing(ListenerSpec.Balance.LEASTCONN, false, false).now();
        assertThat(DropPolicy.verdict(keep, "n1")).isEqualTo(DropPolicy.Verdict.KEEP_RELAYING);
        assertThat(DropPolicy.mayRoute(keep, "n1")).as("drop=off keeps sessions, never routes new ones").isFalse();
    }

    @Test
    void fallbackSendsSessionsToTheLeaderOnlyWhileNoMemberIsUp() {
        primary.record("n0", CheckOutcomes.fromResponse(200, "{\"role\":\"master\",\"timeline\":3}", Duration.ofMillis(1), T0));
        Routing withFallback = routing(ListenerSpec.Balance.LEASTCONN, true, true);
        assertThat(pick(withFallback, 0)).isEqualTo("n0");
        assertThat(DropPolicy.verdict(withFallback.now(), "n0")).isEqualTo(DropPolicy.Verdict.ROUTE);
        assertThat(pick(routing(ListenerSpec.Balance.LEASTCONN, true, false), 0)).as("fallback off: nobody").isNull();
        passes(replicas, "n1");
        assertThat(pick(withFallback, 0)).isEqualTo("n1");
        assertThat(DropPolicy.verdict(withFallback.now(), "n0"))
                .as("sessions that fell back stay, new ones go to the replica").isEqualTo(DropPolicy.Verdict.KEEP_RELAYING);
        assertThat(withFallback.now().noneMessage()).startsWith("no member of listener replicas is UP");
    }
}
