package io.patroxy.stats;

import static io.patroxy.app.StubClusterResource.api0;
import static io.patroxy.app.StubClusterResource.api1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URL;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.patroxy.app.Patroxy;
import io.patroxy.cluster.ClusterView;
import io.patroxy.health.StubPatroni.Mode;
import io.patroxy.proxy.Pg;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * Two listeners, {@code primary} and {@code replicas}, in front of stub members that answer
 * {@code /primary} and {@code /replica} as Patroni does (pg0 the primary, pg1 a replica): each
 * listener is its own section in the CSV, the JSON, the metrics and the readiness probe.
 */
@QuarkusTest
@TestProfile(ListenersStatsTest.TwoListeners.class)
@QuarkusTestResource(value = io.patroxy.app.StubClusterResource.class, restrictToAnnotatedClass = true)
class ListenersStatsTest {

    public static class TwoListeners implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // both on any free port of 127.0.0.1 (patroxy.listen.host in tests); the second names the host
            // because the listener list refuses the same HOST:PORT twice, port 0 included
            return Map.of("patroxy.listeners", "primary=0:primary,replicas=127.0.0.1:0:replica");
        }
    }

    private static final Duration WAIT = Duration.ofSeconds(10);

    @Inject
    Patroxy patroxy;

    @TestHTTPResource("/")
    URL base;

    private final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void pg0IsThePrimaryAndPg1AReplica() throws IOException {
        api0.mode(Mode.PRIMARY);
        api1.mode(Mode.REPLICA);
        api1.up();
        await().atMost(WAIT).until(() -> status("primary", "pg0").equals("UP") && status("primary", "pg1").equals("DOWN")
                && status("replicas", "pg0").equals("DOWN") && status("replicas", "pg1").equals("UP")
                && view("primary").leaderName().orElse("").equals("pg0"));
    }

    @AfterEach
    void replicaBack() throws IOException {
        api1.up();
    }

    private ClusterView view(String listener) {
        return patroxy.listeners().stream().filter(l -> l.name().equals(listener)).findFirst().orElseThrow().cluster().view();
    }

    private String status(String listener, String member) {
        return view(listener).member(member).orElseThrow().health().display();
    }

    private InetSocketAddress address(String listener) {
        return patroxy.listeners().stream().filter(l -> l.name().equals(listener)).findFirst().orElseThrow().address();
    }

    @Test
    void bothListenersAreBoundOnTheirOwnFreePorts() {
        assertThat(patroxy.listeners()).extracting(ProxyStarted.Listener::name).containsExactly("primary", "replicas");
        assertThat(address("primary").getPort()).isPositive().isNotEqualTo(address("replicas").getPort());
    }

    @Test
    void csvHasBothListenersEachWithItsFrontendMembersAndBackend() {
        List<Map<String, String>> rows = HaproxyCsvTest.rows(Http.get(base, "/;csv").body());
        assertThat(rows).extracting(r -> r.get("pxname") + "/" + r.get("svname") + "=" + r.get("status")).containsExactly(
                "primary/FRONTEND=OPEN", "primary/pg0=UP", "primary/pg1=DOWN", "primary/BACKEND=UP",
                "replicas/FRONTEND=OPEN", "replicas/pg0=DOWN", "replicas/pg1=UP", "replicas/BACKEND=UP");
    }

    @Test
    void jsonHasEachListenerAndTheFirstAtTheTop() throws IOException {
        JsonNode s = json.readTree(Http.get(base, "/;json").body());
        assertThat(s.path("proxy").asText()).isEqualTo("primary");
        assertThat(s.path("leadership").path("leader").asText()).isEqualTo("pg0");
        JsonNode listeners = s.path("listeners");
        assertThat(listeners).hasSize(2);
        assertThat(listeners.get(0).path("name").asText()).isEqualTo("primary");
        JsonNode replicas = listeners.get(1);
        assertThat(replicas.path("name").asText()).isEqualTo("replicas");
        assertThat(replicas.path("role").asText()).isEqualTo("replica");
        assertThat(replicas.path("check").asText()).isEqualTo("/replica");
        assertThat(replicas.path("address").asText()).isEqualTo("127.0.0.1:" + address("replicas").getPort());
        assertThat(replicas.path("leadership").isNull()).isTrue();
        assertThat(replicas.path("backend").path("upMembers").asInt()).isEqualTo(1);
        assertThat(replicas.path("servers").get(1).path("status").asText()).isEqualTo("UP");
        assertThat(replicas.path("servers").get(1).path("check").path("code").asInt()).isEqualTo(200);
    }

    @Test
    void metricsCarryTheListenerAndASessionOnTheReplicasPortGoesToTheReplica() throws IOException {
        Scrape before = Scrape.of(Http.get(base, "/metrics").body());
        assertThat(before.value("patroxy_server_up", "listener", "primary", "server", "pg0")).isEqualTo(1);
        assertThat(before.value("patroxy_server_up", "listener", "replicas", "server", "pg0")).isZero();
        assertThat(before.value("patroxy_server_up", "listener", "replicas", "server", "pg1")).isEqualTo(1);
        assertThat(before.value("patroxy_leader_known", "listener", "primary")).isEqualTo(1);
        assertThat(before.value("patroxy_backend_up", "listener", "replicas")).isEqualTo(1);
        double relayed = before.value("patroxy_server_sessions_total", "listener", "replicas", "server", "pg1");

        InetSocketAddress replicas = address("replicas");
        try (Socket s = new Socket(replicas.getAddress(), replicas.getPort())) {
            s.setSoTimeout(10_000);
            Pg.login(s);
        }
        await().atMost(WAIT).until(() -> Scrape.of(Http.get(base, "/metrics").body())
                .value("patroxy_server_sessions_total", "listener", "replicas", "server", "pg1") == relayed + 1);
        Scrape after = Scrape.of(Http.get(base, "/metrics").body());
        assertThat(after.value("patroxy_server_sessions_total", "listener", "replicas", "server", "pg0")).isZero();
        assertThat(after.value("patroxy_sessions_total", "listener", "primary"))
                .isEqualTo(before.value("patroxy_sessions_total", "listener", "primary"));
    }

    @Test
    void readinessHasOneCheckPerListenerAndLivenessEveryAddress() throws IOException {
        JsonNode ready = json.readTree(Http.get(base, "/q/health/ready").body());
        assertThat(ready.path("status").asText()).isEqualTo("UP");
        assertThat(check(ready, "listener primary").path("data").path("leader").asText()).isEqualTo("pg0");
        assertThat(check(ready, "listener replicas").path("data").path("upMembers").asInt()).isEqualTo(1);
        JsonNode live = json.readTree(Http.get(base, "/q/health/live").body());
        assertThat(check(live, "listener").path("data").path("replicas").asText())
                .isEqualTo("127.0.0.1:" + address("replicas").getPort());

        api1.down(); // the only replica: the replicas listener has no member to route to
        await().atMost(WAIT).until(() -> Http.get(base, "/q/health/ready").statusCode() == 503);
        ready = json.readTree(Http.get(base, "/q/health/ready").body());
        assertThat(check(ready, "listener replicas").path("status").asText()).isEqualTo("DOWN");
        assertThat(check(ready, "listener primary").path("status").asText()).isEqualTo("UP");
        assertThat(HaproxyCsvTest.rows(Http.get(base, "/;csv").body()).get(7))
                .containsEntry("pxname", "replicas").containsEntry("svname", "BACKEND").containsEntry("status", "DOWN");
    }

    private static JsonNode check(JsonNode health, String name) {
        for (JsonNode c : health.path("checks")) {
            if (c.path("name").asText().equals(name)) {
                return c;
            }
        }
        throw new AssertionError("no check " + name + " in " + health);
    }
}
