package io.patroxy.stats;

import static io.patroxy.stats.Fixtures.at;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;

class LeaderHistoryTest {

    private final Fixtures f = new Fixtures();

    @Test
    void firstLeaderRecordsHowLongTheClusterWaitedSinceStart() {
        f.replica("pg1", 1);
        f.primary("pg0", 1, 3);

        assertThat(f.leaders.changes()).containsExactly(
                new LeaderHistory.Change(at(3), null, "pg0", 1, Duration.ofSeconds(3)));
        assertThat(f.leaders.elections()).isEqualTo(1);
        assertThat(f.leaders.leader()).contains("pg0");
        assertThat(f.leaders.leaderlessSince()).isEmpty();
        assertThat(f.leaders.leaderlessTotal(at(100))).isEqualTo(Duration.ofSeconds(3));
    }

    @Test
    void failoverShowsLossThenNewLeaderWithTheGapBetween() {
        f.primary("pg0", 1, 0);
        f.refused("pg0", 10); // UP 2/3
        f.refused("pg0", 11); // UP 1/3
        f.refused("pg0", 12); // DOWN: no leader
        assertThat(f.leaders.leaderlessSince()).contains(at(12));
        assertThat(f.leaders.leaderlessTotal(at(13))).isEqualTo(Duration.ofSeconds(1));

        f.primary("pg1", 2, 15);

        assertThat(f.leaders.changes()).containsExactly(
                new LeaderHistory.Change(at(15), null, "pg1", 2, Duration.ofSeconds(3)),
                new LeaderHistory.Change(at(12), "pg0", null, -1, null),
                new LeaderHistory.Change(at(0), null, "pg0", 1, Duration.ZERO));
        assertThat(f.leaders.elections()).isEqualTo(2);
        assertThat(f.leaders.losses()).isEqualTo(1);
        assertThat(f.leaders.lastChange()).isEqualTo(at(15));
        assertThat(f.leaders.leaderlessTotal(at(60))).isEqualTo(Duration.ofSeconds(3));
    }

    @Test
    void leaderMovingStraightToAnotherMemberHasNoGap() {
        f.primary("pg0", 1, 0);
        f.refused("pg0", 5); // pg0 UP 2/3, still the leader
        f.primary("pg1", 2, 6); // pg1 UP and its latest check passed: preferred

        assertThat(f.leaders.changes().get(0)).isEqualTo(new LeaderHistory.Change(at(6), "pg0", "pg1", 2, null));
        assertThat(f.leaders.losses()).isZero();
        assertThat(f.leaders.leaderlessTotal(at(10))).isEqualTo(Duration.ZERO);
    }

    @Test
    void keepsOnlyTheLatestChanges() {
        LeaderHistory small = new LeaderHistory(3, Clock.fixed(Fixtures.T0, ZoneOffset.UTC));
        f.cluster.addListener(small);
        f.primary("pg0", 1, 0);
        for (int i = 1; i <= 3; i++) {
            f.refused("pg0", 10 * i);
            f.refused("pg0", 10 * i + 1);
            f.refused("pg0", 10 * i + 2);
            f.primary("pg0", 1, 10 * i + 5); // DOWN 1/2
            f.primary("pg0", 1, 10 * i + 6); // UP
        }
        assertThat(small.changes()).extracting(LeaderHistory.Change::at).containsExactly(at(36), at(32), at(26));
        assertThat(small.elections()).isEqualTo(4);
        assertThat(small.leaderlessTotal(at(40))).isEqualTo(Duration.ofSeconds(12));
    }

    @Test
    void aHistoryAddedLateCatchesUpFromTheCurrentView() {
        f.primary("pg0", 1, 4);
        LeaderHistory late = new LeaderHistory(20, Clock.fixed(Fixtures.T0, ZoneOffset.UTC));
        late.observe(f.cluster.view());
        late.observe(f.cluster.view());

        assertThat(late.changes()).containsExactly(new LeaderHistory.Change(at(4), null, "pg0", 1, Duration.ofSeconds(4)));
    }

    @Test
    void upTransitionsCountDownToUpButNotTheFirstCheck() {
        f.primary("pg0", 1, 0);
        assertThat(f.ups.of("pg0")).isZero();
        f.refused("pg0", 1);
        f.refused("pg0", 2);
        f.refused("pg0", 3);
        f.primary("pg0", 1, 4); // DOWN 1/2
        assertThat(f.ups.of("pg0")).isZero();
        f.primary("pg0", 1, 5);
        assertThat(f.ups.of("pg0")).isEqualTo(1);
        assertThat(f.cluster.view().member("pg0").orElseThrow().downTransitions()).isEqualTo(1);
    }
}
