package io.patroxy.cluster;

import static io.patroxy.cluster.Views.T0;
import static io.patroxy.cluster.Views.primary;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.patroxy.config.MemberAddress;

/** Members that join or leave a running registry (discovery): never routable before a check, dropped when gone. */
class MembersChangeTest {

    private final List<MemberAddress> two = MemberAddress.parseList("n0=127.0.0.2,n1=127.0.0.3");
    private final ClusterRegistry registry = new ClusterRegistry(two, 3, 2, Clock.fixed(T0, ZoneOffset.UTC));

    @Test
    void aJoiningMemberIsNotRoutableUntilItsFirstCheckAndKeepsNothingOfAnother() {
        registry.record("n0", primary(1, 0));
        registry.setMembers(MemberAddress.parseList("n0=127.0.0.2,n1=127.0.0.3,n2=127.0.0.4"));
        MemberView n2 = registry.view().member("n2").orElseThrow();
        assertThat(n2.health().display()).isEqualTo("NO CHECK");
        assertThat(registry.view().leaderName()).contains("n0");
        assertThat(registry.view().member("n0").orElseThrow().isUp()).as("known members keep their state").isTrue();
    }

    @Test
    void aMemberThatLeavesLosesItsSessionsAndALateCheckOfItIsIgnored() {
        registry.record("n0", primary(1, 0));
        RouteView before = Routing.leader("", registry::view).now();
        registry.setMembers(MemberAddress.parseList("n1=127.0.0.3"));
        RouteView after = Routing.leader("", registry::view).now();
        assertThat(after.own().leader()).isNull();
        assertThat(DropPolicy.changes(before, after)).singleElement().satisfies(c -> {
            assertThat(c.member()).isEqualTo("n0");
            assertThat(c.verdict()).isEqualTo(DropPolicy.Verdict.MEMBER_DOWN);
            assertThat(c.why()).isEqualTo("member n0 was marked DOWN by Patroxy (it left Patroni's cluster)");
        });
        registry.record("n0", primary(1, 3)); // its checker's last result, in flight when it left
        assertThat(registry.view().members()).extracting(MemberView::name).containsExactly("n1");
    }
}
