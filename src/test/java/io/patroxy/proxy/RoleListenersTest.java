package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.patroxy.cluster.ClusterRegistry;
import io.patroxy.cluster.Routing;
import io.patroxy.config.ListenerSpec;
import io.patroxy.config.MemberAddress;
import io.patroxy.config.ProxySettings;
import io.patroxy.health.CheckOutcomes;

/**
 * Role listeners on real sockets (issue 12): a primary listener and a replicas listener over the
 * same three stub servers, each listener with its own members' check state, sharing event loops
 * and cancel keys as the application wires them.
 */
class RoleListenersTest {

    private final List<StubServer> pg = new ArrayList<>();
    private final List<ProxyServer> servers = new ArrayList<>();
    private final List<Socket> clients = new ArrayList<>();
    private final List<Session> finished = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Transport transport = Transport.create(2);
    private List<MemberAddress> members;
    private ClusterRegistry primary;
    private ClusterRegistry replicas;
    private SessionRegistry replicaSessions;
    private InetSocketAddress replicaPort;

    private void start(boolean fallback, Duration hold) throws IOException {
        for (int i = 0; i < 3; i++) {
            pg.add(new StubServer(Pg.server(StubServer.ECHO)));
        }
        members = List.of(new MemberAddress("pg0", "127.0.0.1", pg.get(0).port(), 8008),
                new MemberAddress("pg1", "127.0.0.1", pg.get(1).port(), 8008),
                new MemberAddress("pg2", "127.0.0.1", pg.get(2).port(), 8008));
        primary = new ClusterRegistry("primary", members, 3, 2, Clock.systemUTC(), true);
        replicas = new ClusterRegistry("replicas", members, 3, 2, Clock.systemUTC(), false);
        CancelKeys keys = new CancelKeys();
        SessionRegistry primarySessions = new SessionRegistry(members, 100, Routing.leader("primary", primary::view), keys, s -> { });
        HoldQueue primaryHolds = new HoldQueue(10, Routing.leader("primary", primary::view));
        primary.addListener(primarySessions);
        primary.addListener(primaryHolds);
        Routing routing = Routing.balanced("replicas", ListenerSpec.Balance.LEASTCONN, true, replicas::view,
                fallback ? primary::view : null);
        replicaSessions = new SessionRegistry(members, 100, routing, keys, finished::add);
        HoldQueue replicaHolds = new HoldQueue(10, routing);
        for (ClusterRegistry source : fallback ? List.of(replicas, primary) : List.of(replicas)) {
            source.addListener(replicaSessions);
            source.addListener(replicaHolds);
        }
        ProxySettings base = ProxyFixture.settings(100, Duration.ofMinutes(30), hold);
        servers.add(new ProxyServer(base, primarySessions, primaryHolds, transport));
        servers.add(new ProxyServer(base, replicaSessions, replicaHolds, transport));
        servers.get(0).start();
        replicaPort = servers.get(1).start();
        check(primary, "pg0", 200, "master");
        check(replicas, "pg0", 503, "master");
        check(replicas, "pg1", 200, "replica");
        check(replicas, "pg2", 200, "replica");
    }

    private static void check(ClusterRegistry r, String member, int status, String role) {
        r.record(member, CheckOutcomes.fromResponse(status, "{\"role\":\"" + role + "\",\"timeline\":2}", Duration.ofMillis(1), Instant.now()));
    }

    private Socket connect() throws IOException {
        Socket s = new Socket(replicaPort.getAddress(), replicaPort.getPort());
        s.setSoTimeout(10_000);
        clients.add(s);
        Pg.login(s);
        return s;
    }

    @AfterEach
    void stop() throws IOException {
        for (Socket s : clients) {
            s.close();
        }
        ProxyServer.shutdown(servers, Duration.ZERO);
        transport.shutdown();
        for (StubServer s : pg) {
            s.close();
        }
    }

    @Test
    void replicaSessionsAreSpreadOverTheReplicasAndNeverReachTheLeader() throws IOException {
        start(false, Duration.ZERO);
        for (int i = 0; i < 20; i++) {
            connect();
        }
        assertThat(pg.get(0).accepted).isEmpty();
        assertThat(pg.get(1).accepted).hasSize(10);
        assertThat(pg.get(2).accepted).hasSize(10);
        assertThat(replicaSessions.sessionsOn("pg1")).isEqualTo(10);
    }

    @Test
    void aReplicaMarkedDownLosesItsSessionsAndNewOnesGoToTheOther() throws IOException {
        start(false, Duration.ZERO);
        Socket onPg1 = connect();
        Socket onPg2 = connect();
        assertThat(pg.get(1).accepted).hasSize(1);
        for (int i = 0; i < 3; i++) {
            check(replicas, "pg1", 503, "replica"); // lagging: /replica?lag= answers 503
        }
        Pg.Message farewell = Pg.read(onPg1.getInputStream());
        assertThat(farewell.field('C')).isEqualTo("57P01");
        assertThat(farewell.field('M')).isEqualTo(
                "terminating connection because member pg1 was marked DOWN by Patroxy on listener replicas (L7STS 503)");
        await().atMost(Duration.ofSeconds(5)).until(() -> !finished.isEmpty());
        assertThat(finished.get(0).listener()).as("the access log names the listener").isEqualTo("replicas");
        onPg2.getOutputStream().write(Pg.query("SELECT 1"));
        assertThat(Pg.read(onPg2.getInputStream()).text()).isEqualTo("SELECT 1\0");
        connect();
        connect();
        assertThat(pg.get(2).accepted).hasSize(3);
        assertThat(pg.get(0).accepted).isEmpty();
    }

    @Test
    void withFallbackSessionsGoToTheLeaderWhileNoReplicaIsUp() throws IOException {
        start(true, Duration.ZERO);
        for (String m : List.of("pg1", "pg2")) {
            for (int i = 0; i < 3; i++) {
                check(replicas, m, 503, "replica");
            }
        }
        connect();
        assertThat(pg.get(0).accepted).as("the leader takes the replica port's sessions").hasSize(1);
        check(replicas, "pg2", 200, "replica");
        check(replicas, "pg2", 200, "replica"); // UP again
        connect();
        assertThat(pg.get(2).accepted).hasSize(1);
        await().atMost(Duration.ofSeconds(2)).until(() -> replicaSessions.sessionsOn("pg0") == 1); // the fallen-back session stays
    }

    @Test
    void withoutFallbackAClientIsHeldThenToldWhatPatroxySees() throws IOException {
        start(false, Duration.ofMillis(300));
        for (String m : List.of("pg1", "pg2")) {
            for (int i = 0; i < 3; i++) {
                check(replicas, m, 503, "replica");
            }
        }
        Socket s = new Socket(replicaPort.getAddress(), replicaPort.getPort());
        clients.add(s);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(Pg.STARTUP);
        Pg.Message refusal = Pg.read(s.getInputStream());
        assertThat(refusal.field('C')).isEqualTo("57P03");
        assertThat(refusal.field('M')).startsWith("no member of listener replicas is UP in cluster ?: pg0 DOWN (L7STS 503");
        assertThat(pg.get(0).accepted).isEmpty();
    }
}
