package io.patroxy.app;

import static io.patroxy.app.StubClusterResource.api0;
import static io.patroxy.app.StubClusterResource.api1;
import static io.patroxy.app.StubClusterResource.pg0;
import static io.patroxy.app.StubClusterResource.pg1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.patroxy.cluster.MemberView;
import io.patroxy.health.CheckStatus;
import io.patroxy.health.StubPatroni.Mode;
import io.patroxy.proxy.CloseCause;
import io.patroxy.proxy.Pg;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The whole application (REST-client checks, Vert.x timers, cluster view, Netty relay) in front of
 * stub Patroni APIs whose answers the tests flip.
 */
@QuarkusTest
@QuarkusTestResource(value = StubClusterResource.class, restrictToAnnotatedClass = true)
class PatroniChecksTest {

    @Inject
    Patroxy patroxy;

    @BeforeEach
    void pg0IsTheLeader() throws IOException {
        api0.up();
        api1.up();
        api0.mode(Mode.PRIMARY);
        api1.mode(Mode.REPLICA);
        api0.timeline(1);
        api1.timeline(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> patroxy.cluster().view().leaderName().orElse("").equals("pg0")
                && !member("pg1").isUp() && member("pg0").health().display().equals("UP"));
    }

    private MemberView member(String name) {
        return patroxy.cluster().view().member(name).orElseThrow();
    }

    private Socket open() throws IOException {
        InetSocketAddress a = patroxy.proxyAddress();
        Socket s = new Socket(a.getAddress(), a.getPort());
        s.setSoTimeout(15_000);
        return s;
    }

    private Socket connect() throws IOException {
        Socket s = open();
        Pg.login(s);
        return s;
    }

    private static void roundTrip(Socket s) throws IOException {
        s.getOutputStream().write(Pg.query("SELECT 1"));
        assertThat(Pg.read(s.getInputStream()).type()).isEqualTo('Q');
    }

    /** Patroxy's FATAL message on a dropped session, then the close. */
    private static String farewell(Socket s) throws IOException {
        Pg.Message m = Pg.read(s.getInputStream());
        assertThat(m.field('C')).isEqualTo("57P01");
        assertThat(s.getInputStream().read()).isEqualTo(-1);
        return m.field('M');
    }

    @Test
    void sessionsGoToTheMemberWhosePrimaryAnswers200() throws IOException {
        int before0 = pg0.accepted.size();
        int before1 = pg1.accepted.size();
        try (Socket s = connect()) {
            roundTrip(s);
        }
        assertThat(pg0.accepted).hasSize(before0 + 1);
        assertThat(pg1.accepted).hasSize(before1);
        assertThat(member("pg1").lastCheck().status()).isEqualTo(CheckStatus.L7STS);
        assertThat(member("pg1").lastCheck().httpCode()).isEqualTo(503);
        assertThat(member("pg0").patroni().role()).isEqualTo("primary");
    }

    @Test
    void switchoverClosesSessionsOnTheOldLeaderAndRoutesNewOnesToTheNewLeader() throws IOException {
        long leaderChanged = patroxy.sessions().closes(CloseCause.LEADER_CHANGED);
        long memberDown = patroxy.sessions().closes(CloseCause.MEMBER_DOWN);
        try (Socket old = connect()) {
            roundTrip(old);
            api0.mode(Mode.REPLICA);
            api1.mode(Mode.PRIMARY);
            await().atMost(Duration.ofSeconds(10)).until(() -> patroxy.cluster().view().leaderName().orElse("").equals("pg1"));
            assertThat(farewell(old)).contains("pg0");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> patroxy.sessions().closes(CloseCause.LEADER_CHANGED)
                + patroxy.sessions().closes(CloseCause.MEMBER_DOWN) == leaderChanged + memberDown + 1);
        int before1 = pg1.accepted.size();
        try (Socket fresh = connect()) {
            roundTrip(fresh);
        }
        assertThat(pg1.accepted).hasSize(before1 + 1);
    }

    @Test
    void aHungLeaderIsMarkedDownWithinFallTimesTimeoutPlusIntervalAndItsSessionsAreClosed() throws IOException {
        try (Socket s = connect()) {
            roundTrip(s);
            long start = System.nanoTime();
            int requestsBefore = api0.requests();
            api0.mode(Mode.HANG);
            // fall × (timeout + interval) = 3 × 700 ms; generous slack for a loaded 2-core machine
            await().atMost(Duration.ofSeconds(8)).until(() -> !member("pg0").isUp());
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertThat(tookMs).isGreaterThanOrEqualTo(2 * StubClusterResource.CHECK_TIMEOUT_MS);
            assertThat(member("pg0").lastCheck().status()).isEqualTo(CheckStatus.L7TOUT);
            // the next check starts only after the previous one timed out: fall requests, not one per interval
            assertThat(api0.requests() - requestsBefore).as("requests sent to the hung API").isBetween(3, 4);
            assertThat(farewell(s)).isEqualTo("terminating connection because member pg0 was marked DOWN by Patroxy (L7TOUT no answer within the check timeout)");
            assertThat(patroxy.cluster().view().leader()).isNull();
        } finally {
            api0.mode(Mode.PRIMARY);
        }
    }

    @Test
    void aStoppedApiIsALayer4FailureAndNewClientsAreClosedWhileNoMemberIsUp() throws IOException {
        api0.down();
        await().atMost(Duration.ofSeconds(8)).until(() -> !member("pg0").isUp());
        assertThat(member("pg0").lastCheck().status()).isEqualTo(CheckStatus.L4CON);
        assertThat(member("pg0").downTransitions()).isPositive();
        long refused = patroxy.sessions().refusedConnections();
        try (Socket s = open()) {
            s.getOutputStream().write(Pg.STARTUP);
            Pg.Message error = Pg.read(s.getInputStream()); // after the hold of 1 s
            assertThat(error.field('C')).isEqualTo("57P03");
            assertThat(error.field('M')).startsWith("no leader in cluster ?: pg0 DOWN (L4CON connection refused");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> patroxy.sessions().refusedConnections() == refused + 1);
    }

    @Test
    void twoPrimariesTheNewerPromotionGetsEveryNewSessionAndTheOlderLosesItsSessions() throws IOException {
        try (Socket onPg0 = connect()) {
            roundTrip(onPg0);
            api1.timeline(2);
            api1.mode(Mode.PRIMARY); // both answer /primary 200: a split brain, pg1 on the newer timeline
            await().atMost(Duration.ofSeconds(10)).until(() -> patroxy.cluster().view().leaderName().orElse("").equals("pg1"));
            assertThat(api0.requests()).isPositive();
            assertThat(member("pg0").isUp()).as("pg0 still passes its check").isTrue();
            assertThat(farewell(onPg0)).isEqualTo("terminating connection because the leader moved from pg0 to pg1 (Patroxy)");
        }
        int before0 = pg0.accepted.size();
        int before1 = pg1.accepted.size();
        for (int i = 0; i < 5; i++) {
            try (Socket s = connect()) {
                roundTrip(s);
            }
        }
        assertThat(pg1.accepted).hasSize(before1 + 5);
        assertThat(pg0.accepted).hasSize(before0);
    }

    @Test
    void twoPrimariesOnTheSameTimelineGetNoNewSessions() throws IOException {
        api1.mode(Mode.PRIMARY);
        await().atMost(Duration.ofSeconds(10)).until(() -> patroxy.cluster().view().splitBrain());
        assertThat(patroxy.cluster().view().leader()).isNull();
        int before0 = pg0.accepted.size();
        int before1 = pg1.accepted.size();
        try (Socket s = open()) {
            s.getOutputStream().write(Pg.STARTUP);
            Pg.Message error = Pg.read(s.getInputStream()); // held for the hold of 1 s, then refused
            assertThat(error.field('C')).isEqualTo("57P03");
            assertThat(error.field('M')).startsWith("no leader in cluster ? (split brain: two primaries on the same timeline): ");
        }
        assertThat(pg0.accepted).hasSize(before0);
        assertThat(pg1.accepted).hasSize(before1);
    }

    @Test
    void aGarbageAnswerIsAFailedCheck() {
        api0.mode(Mode.GARBAGE);
        await().atMost(Duration.ofSeconds(8)).until(() -> !member("pg0").isUp());
        assertThat(member("pg0").lastCheck().passed()).isFalse();
        assertThat(member("pg0").lastCheck().status()).isIn(CheckStatus.L7RSP, CheckStatus.SOCKERR);
    }
}
