package io.patroxy.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;

import io.patroxy.config.CheckSettings;
import io.patroxy.health.CheckOutcomes;
import io.patroxy.config.MemberAddress;
import io.patroxy.config.CheckSettings;
import io.patroxy.health.CheckOutcomes;

/** inter / fastinter / downinter, with Patroxy's rule: everyone fast while unsettled. */
class IntervalPolicyTest {

    private static final CheckSettings S = new CheckSettings(Duration.ofSeconds(3), 3, 2, Duration.ofSeconds(5), "/primary",
            "http", Duration.ofMillis(500), Duration.ofSeconds(10));
    private final ClusterRegistry cluster = new ClusterRegistry(MemberAddress.parseList("n0=127.0.0.2,n1=127.0.0.3"), 3, 2,
            Clock.fixed(Instant.EPOCH, ZoneOffset.UTC));

    private void record(String member, int status) {
        cluster.record(member, CheckOutcomes.fromResponse(status, "{}", Duration.ofMillis(1), Instant.EPOCH));
    }

    private Duration next(String member) {
        return IntervalPolicy.next(S, cluster.view(), member);
    }

    @Test
    void everyMemberIsCheckedFastWhileNoLeaderIsKnown() {
        assertThat(next("n0")).isEqualTo(Duration.ofMillis(500));
        record("n0", 503);
        record("n1", 503);
        assertThat(next("n0")).isEqualTo(Duration.ofMillis(500));
        assertThat(next("n1")).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void aSettledClusterUsesInterForUpAndDowninterForDownMembers() {
        record("n0", 200);
        record("n1", 503);
        assertThat(next("n0")).isEqualTo(Duration.ofSeconds(3));
        assertThat(next("n1")).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void anyMemberInTransitionMakesEveryoneFast() {
        record("n0", 200);
        record("n1", 503);
        record("n1", 200); // DOWN 1/2: the replica may be the new leader
        assertThat(next("n0")).isEqualTo(Duration.ofMillis(500));
        record("n1", 200); // both UP, settled again
        record("n0", 503); // UP 2/3: the old leader going down
        assertThat(next("n1")).isEqualTo(Duration.ofMillis(500));
    }
}
