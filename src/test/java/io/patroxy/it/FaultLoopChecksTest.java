package io.patroxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The fault loop's verdicts can fail: a lost or misplaced write, a late ack, a session past the bound. */
class FaultLoopChecksTest {

    static CycleResult cycle(int lost, int late, double patroxySessions, double serverSessions, long readsInRecovery, String error) {
        return cycle(lost, late, patroxySessions, 0.4, serverSessions, readsInRecovery, error);
    }

    static CycleResult cycle(int lost, int late, double patroxySessions, double connections, double serverSessions, long readsInRecovery,
            String error) {
        return new CycleResult(1, Fault.KILL, "postgresql0", "postgresql1", 11, 0.9, 200, lost, late, patroxySessions, connections,
                serverSessions, 0, 1, 1, readsInRecovery, 60, 1, "UP@0.0 -> DOWN@0.4", error);
    }

    @Test
    void aCycleHoldsOnlyWithNothingLostNothingLateAndNoSessionPastTheBound() {
        double bound = FaultCycle.SESSION_BOUND.toSeconds();
        assertThat(bound).isEqualTo(24);
        assertThat(cycle(0, 0, 0.4, 0.0, 0, null).held()).isTrue();
        assertThat(cycle(0, 0, bound, bound, 0, null).held()).isTrue();
        assertThat(cycle(1, 0, 0.4, 0.0, 0, null).held()).as("a lost write").isFalse();
        assertThat(cycle(0, 1, 0.4, 0.0, 0, null).held()).as("a write acknowledged by a former leader").isFalse();
        assertThat(cycle(0, 0, bound + 0.3, 0.0, 0, null).held()).as("Patroxy's session past the bound").isFalse();
        assertThat(cycle(0, 0, 0.4, bound + 0.3, 0, null).held()).as("a server session past the bound").isFalse();
        assertThat(cycle(0, 0, 0.4, bound + 0.3, 0.0, 0, null).held()).as("Patroxy's TCP connection past the bound").isFalse();
        assertThat(cycle(0, 0, 0.4, 0.0, 1, null).held()).as("a read answered in recovery").isFalse();
        assertThat(cycle(0, 0, 0.4, 0.0, 0, "KILL: no new leader").held()).isFalse();
        assertThat(cycle(1, 0, 0.4, 0.0, 0, null).row()).contains("FAILED");
    }

    @Test
    void anAckIsLostWhenItsRowIsMissingOrWasWrittenByAnotherServerOrTimeline() {
        List<Writer.Ack> acks = List.of(new Writer.Ack(1, 10, "127.0.0.3", 1), new Writer.Ack(2, 20, "127.0.0.3", 1),
                new Writer.Ack(3, 30, "127.0.0.4", 2), new Writer.Ack(4, 40, "127.0.0.4", 2));
        Map<Long, String> stored = Map.of(1L, "127.0.0.3/1", 3L, "127.0.0.4/2", 4L, "127.0.0.3/1");
        assertThat(FaultCycle.notStored(acks, stored)).extracting(Writer.Ack::id).containsExactly(2L, 4L);
        assertThat(FaultCycle.notStored(acks.subList(0, 1), stored)).isEmpty();
    }
}
