package io.patroxy.app;

import static io.patroxy.app.StubClusterResource.api0;
import static io.patroxy.app.StubClusterResource.api1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.patroxy.cluster.AdminState;
import io.patroxy.cluster.MemberView;
import io.patroxy.health.StubPatroni.Mode;
import io.patroxy.proxy.CloseCause;
import io.patroxy.proxy.Pg;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * The admin API over HTTP on the stats port, in front of stub members, with the stats page's own
 * basic auth on too: the credentials are separate, refusals change nothing, drain and maint reach
 * the data path through the selector, shutdown-sessions drops with a named cause.
 */
@QuarkusTest
@TestProfile(AdminEndpointTest.WithAdmin.class)
@QuarkusTestResource(value = StubClusterResource.class, restrictToAnnotatedClass = true)
class AdminEndpointTest {

    public static class WithAdmin implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("patroxy.admin.user", "ops", "patroxy.admin.password", "adm1n-pw", "patroxy.stats.auth", "viewer:stats-pw");
        }
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final String OPS = basic("ops:adm1n-pw");
    private static final String VIEWER = basic("viewer:stats-pw");

    @Inject
    Patroxy patroxy;

    @TestHTTPResource("/")
    URL base;

    @BeforeEach
    void pg0IsTheLeader() throws IOException {
        api0.up();
        api1.up();
        api0.mode(Mode.PRIMARY);
        api1.mode(Mode.REPLICA);
        await().atMost(Duration.ofSeconds(10)).until(() -> patroxy.cluster().view().leaderName().orElse("").equals("pg0"));
    }

    @AfterEach
    void everyoneReady() {
        for (String m : new String[] {"pg0", "pg1"}) {
            patroxy.cluster().setAdmin(m, AdminState.READY);
        }
    }

    static String basic(String userColonPassword) {
        return "Basic " + Base64.getEncoder().encodeToString(userColonPassword.getBytes(StandardCharsets.UTF_8));
    }

    private HttpResponse<String> send(String method, String path, String contentType, String body, String authorization) {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://" + base.getHost() + ":" + base.getPort() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) {
            r.header("Content-Type", contentType);
        }
        if (authorization != null) {
            r.header("Authorization", authorization);
        }
        try {
            return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private HttpResponse<String> setState(String member, String state) {
        return send("POST", "/admin/members/" + member, "application/json", "{\"state\":\"" + state + "\"}", OPS);
    }

    private MemberView member(String name) {
        return patroxy.cluster().view().member(name).orElseThrow();
    }

    private Socket connect() throws IOException {
        InetSocketAddress a = patroxy.proxyAddress();
        Socket s = new Socket(a.getAddress(), a.getPort());
        s.setSoTimeout(15_000);
        Pg.login(s);
        return s;
    }

    private static void roundTrip(Socket s) throws IOException {
        s.getOutputStream().write(Pg.query("SELECT 1"));
        assertThat(Pg.read(s.getInputStream()).type()).isEqualTo('Q');
    }

    @Test
    void wrongMissingOrStatsCredentialsAre401AndChangeNothing() {
        for (String auth : new String[] {null, VIEWER, basic("ops:wrong"), basic("viewer:adm1n-pw")}) {
            HttpResponse<String> r = send("POST", "/admin/members/pg0", "application/json", "{\"state\":\"maint\"}", auth);
            assertThat(r.statusCode()).as(String.valueOf(auth)).isEqualTo(401);
            assertThat(r.headers().firstValue("www-authenticate")).hasValue("Basic realm=\"Patroxy Admin\", charset=\"UTF-8\"");
            assertThat(r.body()).contains("wrong or missing credentials");
        }
        assertThat(member("pg0").admin()).isEqualTo(AdminState.READY);
        assertThat(patroxy.cluster().view().leaderName()).contains("pg0");
        assertThat(member("pg1").admin()).isEqualTo(AdminState.READY);
        // the stats page keeps its own credentials
        assertThat(send("GET", "/stats.csv", null, null, OPS).statusCode()).isEqualTo(401);
        assertThat(send("GET", "/stats.csv", null, null, VIEWER).statusCode()).isEqualTo(200);
    }

    @Test
    void aFormPostIs415AndABadBody400AndAnUnknownMember404() {
        assertThat(send("POST", "/admin/members/pg0", "application/x-www-form-urlencoded", "state=maint", OPS).statusCode())
                .isEqualTo(415);
        assertThat(send("POST", "/admin/members/pg0", "text/plain", "{\"state\":\"maint\"}", OPS).statusCode()).isEqualTo(415);
        assertThat(send("POST", "/admin/members/pg0", "application/json", "{\"state\":\"off\"}", OPS).statusCode()).isEqualTo(400);
        HttpResponse<String> unknown = setState("pg9", "drain");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.headers().firstValue("content-type")).hasValue("application/json");
        assertThat(unknown.body()).contains("unknown member pg9");
        assertThat(send("GET", "/admin/members/pg0/shutdown-sessions", null, null, OPS).statusCode()).isEqualTo(405);
        assertThat(send("POST", "/admin/members/pg0", "application/json", "{\"state\":\"maint\"}", OPS).statusCode())
                .isEqualTo(200); // the same request, well formed: accepted
        assertThat(member("pg0").admin()).isEqualTo(AdminState.MAINT);
    }

    @Test
    void drainKeepsTheOpenSessionHoldsNewClientsAndReadyLetsThemIn() throws IOException {
        try (Socket open = connect()) {
            roundTrip(open);
            assertThat(setState("pg0", "drain").statusCode()).isEqualTo(200);
            assertThat(send("GET", "/stats.csv", null, null, VIEWER).body()).contains(",pg0,").contains("DRAIN");
            roundTrip(open); // existing sessions stay
            try (Socket held = new Socket(patroxy.proxyAddress().getAddress(), patroxy.proxyAddress().getPort())) {
                held.setSoTimeout(15_000);
                held.getOutputStream().write(Pg.STARTUP);
                Pg.Message error = Pg.read(held.getInputStream()); // held for the hold of 1 s, then refused
                assertThat(error.field('C')).isEqualTo("57P03");
                assertThat(error.field('M')).contains("pg0 leads but an administrator put it in DRAIN");
            }
            roundTrip(open);
            assertThat(setState("pg0", "ready").statusCode()).isEqualTo(200);
            try (Socket fresh = connect()) {
                roundTrip(fresh);
            }
            roundTrip(open);
        }
        assertThat(send("GET", "/admin/state", null, null, OPS).body()).contains("\"leader\":\"pg0\"");
    }

    @Test
    void maintPausesTheMembersChecksAndDropsItsSessions() throws IOException {
        long drops = patroxy.sessions().closes(CloseCause.MEMBER_MAINT);
        try (Socket open = connect()) {
            roundTrip(open);
            assertThat(setState("pg0", "maint").statusCode()).isEqualTo(200);
            Pg.Message m = Pg.read(open.getInputStream());
            assertThat(m.field('C')).isEqualTo("57P01");
            assertThat(m.field('M')).isEqualTo("terminating connection because an administrator put member pg0 in MAINT (Patroxy)");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> patroxy.sessions().closes(CloseCause.MEMBER_MAINT) == drops + 1);
        int pg0Checks = api0.requests();
        int pg1Checks = api1.requests();
        await().atMost(Duration.ofSeconds(10)).until(() -> api1.requests() >= pg1Checks + 3); // pg1 checked 3 times more...
        assertThat(api0.requests()).isLessThanOrEqualTo(pg0Checks + 1); // ...pg0 not (one may have been under way)
        assertThat(member("pg0").display()).isEqualTo("MAINT");
        assertThat(send("GET", "/;csv", null, null, VIEWER).body()).contains("MAINT");

        assertThat(setState("pg0", "ready").statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> patroxy.cluster().view().leaderName().orElse("").equals("pg0"));
        assertThat(api0.requests()).isGreaterThanOrEqualTo(pg0Checks + 2); // through rise again
    }

    @Test
    void shutdownSessionsDropsTheMembersSessionsWithANamedCause() throws IOException {
        long shut = patroxy.sessions().closes(CloseCause.SHUTDOWN_SESSIONS);
        try (Socket a = connect(); Socket b = connect()) {
            roundTrip(a);
            HttpResponse<String> r = send("POST", "/admin/members/pg0/shutdown-sessions", "application/json", "", OPS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("\"sessions\":2");
            for (Socket s : new Socket[] {a, b}) {
                Pg.Message m = Pg.read(s.getInputStream());
                assertThat(m.field('C')).isEqualTo("57P01");
                assertThat(m.field('M')).isEqualTo("terminating connection because an administrator shut down the sessions of member pg0 (Patroxy)");
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> patroxy.sessions().closes(CloseCause.SHUTDOWN_SESSIONS) == shut + 2);
        try (Socket after = connect()) {
            roundTrip(after); // the member stays READY: new sessions go on
        }
    }
}
