package io.patroxy.cluster;

import static io.patroxy.cluster.Views.primary;
import static io.patroxy.cluster.Views.replica;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.patroxy.config.MemberAddress;
import io.patroxy.health.dcs.DcsState;

/**
 * Following Patroni's DCS: a leader key change checks every member at once and then at the DCS
 * fastinter until the key holder is selected or the hold passes; the key holder is mapped to
 * Patroxy's member by the host:port of its conn_url; without a session, polling only.
 */
class DcsFollowerTest {

    static final Duration FAST = Duration.ofMillis(50);
    static final Duration HOLD = Duration.ofSeconds(35);
    static final Duration NORMAL = Duration.ofSeconds(3);

    /** A clock the test moves. */
    static final class MovingClock extends Clock {
        Instant now = Views.T0;

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private final MovingClock clock = new MovingClock();
    // Patroxy's names differ from Patroni's on purpose: the map is by conn_url's host:port
    private final ClusterRegistry cluster = new ClusterRegistry(MemberAddress.parseList("pg-a=127.0.0.2:5432,pg-b=127.0.0.3:5432"),
            3, 2, clock);
    private final AtomicInteger hurried = new AtomicInteger();
    private final DcsFollower follower = new DcsFollower(java.util.List.of(cluster), FAST, HOLD, clock, hurried::incrementAndGet);

    static DcsState dcs(String leader, String roleOfNode1) {
        return DcsState.of(leader == null ? null : leader.getBytes(StandardCharsets.UTF_8), Map.of(
                "node0", member("127.0.0.2", "master", 4711),
                "node1", member("127.0.0.3", roleOfNode1, 4711)));
    }

    static byte[] member(String host, String role, long xlog) {
        return ("{\"conn_url\":\"postgres://" + host + ":5432/postgres\",\"api_url\":\"http://" + host + ":8008/patroni\","
                + "\"state\":\"running\",\"role\":\"" + role + "\",\"version\":\"3.0.2\",\"xlog_location\":" + xlog
                + ",\"timeline\":1}").getBytes(StandardCharsets.UTF_8);
    }

    private void aLeads() {
        cluster.record("pg-a", primary(1, 0));
        cluster.record("pg-b", replica(0));
        follower.accept(dcs("node0", "replica"));
    }

    @Test
    void theKeyHolderIsMappedByConnUrlNotByName() {
        aLeads();
        assertThat(cluster.view().dcs()).isEqualTo(new DcsInput("pg-a", "node0"));
        assertThat(follower.following()).as("the first state seen is no change").isFalse();
        assertThat(hurried).hasValue(0);
        assertThat(follower.pace(NORMAL)).isEqualTo(NORMAL);
    }

    @Test
    void aKeyChangeChecksEveryMemberAtOnceThenFastUntilTheHolderIsSelected() {
        aLeads();
        follower.accept(dcs(null, "replica")); // switchover: the old leader deletes the key...
        assertThat(hurried).hasValue(1);
        assertThat(follower.pace(NORMAL)).isEqualTo(FAST);
        assertThat(cluster.view().leaderName()).as("a deleted key takes nothing away").contains("pg-a");
        follower.accept(dcs("node1", "replica")); // ...and the candidate takes it
        assertThat(hurried).hasValue(2);
        assertThat(cluster.view().leaderName()).as("pg-a lost the key to pg-b").isEmpty();
        clock.now = clock.now.plusMillis(120);
        cluster.record("pg-b", primary(1, 1));
        assertThat(follower.pace(NORMAL)).as("pg-b rising, not selected yet").isEqualTo(FAST);
        cluster.record("pg-b", primary(2, 2));
        assertThat(cluster.view().leaderName()).contains("pg-b");
        assertThat(follower.following()).isFalse();
        assertThat(follower.pace(NORMAL)).isEqualTo(NORMAL);
    }

    @Test
    void followingEndsWhenTheHoldPassesWithoutTheHolderSelected() {
        aLeads();
        follower.accept(dcs("node1", "replica"));
        clock.now = clock.now.plus(HOLD).minusMillis(1);
        assertThat(follower.pace(NORMAL)).isEqualTo(FAST);
        assertThat(follower.pace(Duration.ofMillis(20))).as("never slower than the policy's own pace").isEqualTo(Duration.ofMillis(20));
        clock.now = clock.now.plusMillis(1);
        assertThat(follower.pace(NORMAL)).isEqualTo(NORMAL);
        assertThat(follower.following()).isFalse();
    }

    @Test
    void theWalPositionEachMemberRewritesIsNoChangeARoleIsOneCheckOfEveryMember() {
        aLeads();
        DcsState rewritten = DcsState.of("node0".getBytes(StandardCharsets.UTF_8), Map.of(
                "node0", member("127.0.0.2", "master", 9999), "node1", member("127.0.0.3", "replica", 9999)));
        assertThat(rewritten).isEqualTo(dcs("node0", "replica"));
        follower.accept(dcs("node0", "demoted"));
        assertThat(hurried).hasValue(1);
        assertThat(follower.following()).as("no key change: no fast pace").isFalse();
    }

    @Test
    void withoutASessionTheInputIsGoneAndAKeyMovedMeanwhileCountsOnceBack() {
        aLeads();
        follower.accept(DcsState.DISCONNECTED);
        assertThat(cluster.view().dcs()).isEqualTo(DcsInput.NONE);
        assertThat(cluster.view().leaderName()).contains("pg-a");
        assertThat(hurried).hasValue(0);
        follower.accept(dcs("node1", "replica"));
        assertThat(follower.following()).isTrue();
        assertThat(hurried).hasValue(1);
        assertThat(cluster.view().leaderName()).isEmpty();
    }

    @Test
    void aKeyHolderThatIsNoneOfPatroxysMembersIsNotFollowed() {
        aLeads();
        DcsState elsewhere = DcsState.of("node9".getBytes(StandardCharsets.UTF_8), Map.of(
                "node9", member("10.9.9.9", "master", 1), "node0", member("127.0.0.2", "replica", 1)));
        follower.accept(elsewhere);
        assertThat(cluster.view().dcs()).isEqualTo(DcsInput.NONE);
        assertThat(cluster.view().leaderName()).contains("pg-a");
    }
}
