package io.patroxy.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import io.patroxy.health.MemberHealth.State;

/** HAProxy's fall/rise semantics, transition by transition (seeds' values: fall 3, rise 2). */
class MemberHealthTest {

    private static MemberHealth apply(MemberHealth h, boolean... results) {
        for (boolean r : results) {
            h = h.next(r);
        }
        return h;
    }

    private final MemberHealth fresh = MemberHealth.initial(3, 2);

    @Test
    void notRoutableBeforeTheFirstCheck() {
        assertThat(fresh.state()).isEqualTo(State.INIT);
        assertThat(fresh.isUp()).isFalse();
        assertThat(fresh.display()).isEqualTo("NO CHECK");
    }

    @Test
    void firstResultDecidesTheState() {
        assertThat(fresh.next(true).state()).isEqualTo(State.UP);
        assertThat(fresh.next(true).isUp()).isTrue();
        assertThat(fresh.next(false).state()).isEqualTo(State.DOWN);
        assertThat(fresh.next(false).isUp()).isFalse();
    }

    @Test
    void upGoesDownAfterFallConsecutiveFailures() {
        MemberHealth up = fresh.next(true);
        MemberHealth one = up.next(false);
        assertThat(one.state()).isEqualTo(State.UP_GOING_DOWN);
        assertThat(one.isUp()).isTrue();
        assertThat(one.display()).isEqualTo("UP 2/3"); // HAProxy shows the checks left before DOWN
        MemberHealth two = one.next(false);
        assertThat(two.state()).isEqualTo(State.UP_GOING_DOWN);
        assertThat(two.display()).isEqualTo("UP 1/3");
        assertThat(two.isUp()).isTrue();
        MemberHealth three = two.next(false);
        assertThat(three.state()).isEqualTo(State.DOWN);
        assertThat(three.isUp()).isFalse();
        assertThat(three.display()).isEqualTo("DOWN");
    }

    @Test
    void onePassHealsAMemberGoingDown() {
        MemberHealth h = apply(fresh, true, false, false, true);
        assertThat(h.state()).isEqualTo(State.UP);
        // and it again takes a full fall to go down
        assertThat(apply(h, false, false).isUp()).isTrue();
        assertThat(apply(h, false, false, false).isUp()).isFalse();
    }

    @Test
    void downGoesUpAfterRiseConsecutivePasses() {
        MemberHealth down = fresh.next(false);
        MemberHealth one = down.next(true);
        assertThat(one.state()).isEqualTo(State.DOWN_GOING_UP);
        assertThat(one.display()).isEqualTo("DOWN 1/2");
        assertThat(one.isUp()).isFalse();
        MemberHealth two = one.next(true);
        assertThat(two.state()).isEqualTo(State.UP);
        assertThat(two.isUp()).isTrue();
    }

    @Test
    void oneFailureResetsAMemberGoingUp() {
        MemberHealth h = apply(fresh, false, true, false);
        assertThat(h.state()).isEqualTo(State.DOWN);
        assertThat(apply(h, true).isUp()).isFalse();
        assertThat(apply(h, true, true).isUp()).isTrue();
    }

    @Test
    void stableStatesStayPut() {
        assertThat(apply(fresh, true, true, true, true).state()).isEqualTo(State.UP);
        assertThat(apply(fresh, false, false, false, false).state()).isEqualTo(State.DOWN);
    }

    @Test
    void fallAndRiseOfOneFlipOnEveryResult() {
        MemberHealth h = MemberHealth.initial(1, 1);
        assertThat(apply(h, true, false).state()).isEqualTo(State.DOWN);
        assertThat(apply(h, false, true).state()).isEqualTo(State.UP);
    }

    @Test
    void largerCountersFollowTheSameRule() {
        MemberHealth h = MemberHealth.initial(5, 4).next(false);
        for (int i = 1; i < 4; i++) {
            h = h.next(true);
            assertThat(h.display()).isEqualTo("DOWN " + i + "/4");
        }
        h = h.next(true);
        assertThat(h.display()).isEqualTo("UP");
        for (int left = 4; left >= 1; left--) {
            h = h.next(false);
            assertThat(h.display()).isEqualTo("UP " + left + "/5");
        }
        assertThat(h.next(false).display()).isEqualTo("DOWN");
    }

    @Test
    void rejectsCountersBelowOne() {
        assertThatThrownBy(() -> MemberHealth.initial(0, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MemberHealth.initial(3, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
