package io.patroxy.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.patroxy.cluster.AdminState;
import io.patroxy.cluster.ClusterView;
import io.patroxy.config.Role;

/**
 * The admin API as a plain function of a request, on two real listeners' registries (a primary
 * and a replicas listener): every refusal (401, 403, 404, 405, 415, 400) changes nothing; every
 * change reaches the selector's snapshot.
 */
class AdminApiTest {

    private static final String OPS = basic("ops", "s3cret");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Fixtures postgres = new Fixtures();
    private final Fixtures replicas = new Fixtures("replicas", Role.REPLICA, 5433);
    private final AdminApi api = new AdminApi(new BasicAuth("ops", "s3cret"),
            () -> List.of(listener(postgres), listener(replicas)));

    {
        postgres.primary("pg0", 1, 0);
        postgres.replica("pg1", 0);
        replicas.replica("pg0", 0);
        replicas.check("pg1", 200, "replica", 1, 0);
    }

    private static ProxyStarted.Listener listener(Fixtures f) {
        return new ProxyStarted.Listener(f.listener.name(), f.listener.role(), f.listener.checkPath(), f.cluster,
                io.patroxy.cluster.Routing.leader(f.listener.name(), f.cluster::view), f.sessions, null);
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private AdminApi.Response post(String path, String contentType, String body, String authorization) {
        return api.handle(new AdminApi.Request("POST", path, contentType, null, "127.0.0.1:7000", authorization, body, "127.0.0.1"));
    }

    private AdminApi.Response post(String path, String body) {
        return post(path, "application/json", body, OPS);
    }

    private AdminApi.Response get(String path) {
        return api.handle(new AdminApi.Request("GET", path, null, null, "127.0.0.1:7000", OPS, null, "127.0.0.1"));
    }

    private static JsonNode json(AdminApi.Response r) throws Exception {
        return JSON.readTree(r.json());
    }

    private void assertNothingChanged(ClusterView p, ClusterView r) {
        assertThat(postgres.cluster.view()).isSameAs(p);
        assertThat(replicas.cluster.view()).isSameAs(r);
    }

    @Test
    void wrongOrMissingCredentialsAre401WithAChallengeAndChangeNothing() throws Exception {
        ClusterView p = postgres.cluster.view();
        ClusterView r = replicas.cluster.view();
        for (String auth : new String[] {null, basic("ops", "wrong"), basic("root", "s3cret"), basic("ops", "s3cret2"),
                basic("ops", ""), "Basic !!notbase64", "Bearer x", basic("ops", "s3cret").replace("Basic", "Digest")}) {
            AdminApi.Response resp = post("/admin/members/pg0", "application/json", "{\"state\":\"maint\"}", auth);
            assertThat(resp.status()).as(String.valueOf(auth)).isEqualTo(401);
            assertThat(resp.challenge()).isTrue();
            assertThat(json(resp).get("error").asText()).isEqualTo("wrong or missing credentials");
            assertThat(api.handle(new AdminApi.Request("GET", "/admin/state", null, null, "h", auth, null, "x")).status())
                    .isEqualTo(401);
        }
        assertNothingChanged(p, r);
    }

    @Test
    void aPostThatIsNotJsonIs415AndChangesNothing() throws Exception {
        ClusterView p = postgres.cluster.view();
        ClusterView r = replicas.cluster.view();
        for (String type : new String[] {null, "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"}) {
            AdminApi.Response resp = post("/admin/members/pg0", type, "{\"state\":\"maint\"}", OPS);
            assertThat(resp.status()).as(String.valueOf(type)).isEqualTo(415);
            assertThat(json(resp).get("error").asText()).contains("application/json");
        }
        assertThat(post("/admin/members/pg0/shutdown-sessions", "text/plain", "", OPS).status()).isEqualTo(415);
        assertNothingChanged(p, r);
    }

    @Test
    void aCrossOriginRequestIs403AndChangesNothing() {
        ClusterView p = postgres.cluster.view();
        for (String origin : new String[] {"http://evil.example", "null", "http://127.0.0.1:8080"}) {
            AdminApi.Response resp = api.handle(new AdminApi.Request("POST", "/admin/members/pg0", "application/json", origin,
                    "127.0.0.1:7000", OPS, "{\"state\":\"maint\"}", "127.0.0.1"));
            assertThat(resp.status()).as(origin).isEqualTo(403);
        }
        assertThat(postgres.cluster.view()).isSameAs(p);
        AdminApi.Response sameOrigin = api.handle(new AdminApi.Request("POST", "/admin/members/pg0", "application/json",
                "http://127.0.0.1:7000", "127.0.0.1:7000", OPS, "{\"state\":\"drain\"}", "127.0.0.1"));
        assertThat(sameOrigin.status()).isEqualTo(200);
    }

    @Test
    void unknownMembersListenersAndPathsAre404AndABadBodyIs400() throws Exception {
        ClusterView p = postgres.cluster.view();
        ClusterView r = replicas.cluster.view();
        AdminApi.Response member = post("/admin/members/nope", "{\"state\":\"drain\"}");
        assertThat(member.status()).isEqualTo(404);
        assertThat(json(member).get("error").asText()).isEqualTo("unknown member nope; members: [pg0, pg1]");
        AdminApi.Response listener = post("/admin/members/pg0", "{\"state\":\"drain\",\"listener\":\"nope\"}");
        assertThat(listener.status()).isEqualTo(404);
        assertThat(json(listener).get("error").asText()).isEqualTo("unknown listener nope; listeners: postgres, replicas");
        assertThat(get("/admin/members/nope").status()).isEqualTo(404);
        assertThat(get("/admin/nothing").status()).isEqualTo(404);
        assertThat(post("/admin/members/nope/shutdown-sessions", "{}").status()).isEqualTo(404);

        for (String body : new String[] {"", "{}", "{\"state\":\"down\"}", "{\"state\":1}", "[]", "not json", "{\"state\":\"drain\",\"x\":1}",
                "{\"state\":\"drain\",\"listener\":5}"}) {
            AdminApi.Response bad = post("/admin/members/pg0", body);
            assertThat(bad.status()).as(body).isEqualTo(400);
            assertThat(json(bad).get("error").asText()).as(body).isNotBlank();
        }
        assertThat(json(post("/admin/members/pg0", "{\"state\":\"down\"}")).get("error").asText())
                .isEqualTo("state 'down' is not one of ready, drain, maint");
        assertThat(json(post("/admin/members/pg0", "{bad")).get("error").asText()) // one line, no parser location
                .startsWith("the body is not JSON: Unexpected character ('b'").doesNotContain("\n");
        assertThat(json(post("/admin/members/pg0", "[\"drain\"]")).get("error").asText()).isEqualTo("the body must be a JSON object");
        assertThat(json(post("/admin/members/pg0", "{\"state\":1}")).get("error").asText()).isEqualTo("'state' must be a string");
        assertThat(post("/admin/members/pg0/shutdown-sessions", "{\"state\":\"drain\"}").status()).isEqualTo(400);
        assertNothingChanged(p, r);
    }

    @Test
    void noStateChangesOnGetAndWrongMethodsAre405() {
        ClusterView p = postgres.cluster.view();
        AdminApi.Response getShutdown = get("/admin/members/pg0/shutdown-sessions");
        assertThat(getShutdown.status()).isEqualTo(405);
        assertThat(getShutdown.allow()).isEqualTo("POST");
        AdminApi.Response postState = post("/admin/state", "{}");
        assertThat(postState.status()).isEqualTo(405);
        assertThat(api.handle(new AdminApi.Request("DELETE", "/admin/members/pg0", null, null, "h", OPS, null, "x")).status())
                .isEqualTo(405);
        assertThat(get("/admin/members/pg0").status()).isEqualTo(200);
        assertThat(get("/admin/state").status()).isEqualTo(200);
        assertThat(postgres.cluster.view()).isSameAs(p);
    }

    @Test
    void aStateAppliesToEveryListenerOrTheOneNamedAndGetShowsIt() throws Exception {
        AdminApi.Response drain = post("/admin/members/pg0", "{\"state\":\"drain\"}");
        assertThat(drain.status()).isEqualTo(200);
        JsonNode d = json(drain);
        assertThat(d.get("member").asText()).isEqualTo("pg0");
        assertThat(d.get("listeners")).hasSize(2);
        assertThat(d.get("listeners").get(0).get("was").asText()).isEqualTo("ready");
        assertThat(d.get("listeners").get(0).get("status").asText()).isEqualTo("DRAIN");
        assertThat(postgres.cluster.view().member("pg0").orElseThrow().admin()).isEqualTo(AdminState.DRAIN);
        assertThat(replicas.cluster.view().member("pg0").orElseThrow().admin()).isEqualTo(AdminState.DRAIN);
        assertThat(postgres.cluster.view().leader()).isNull(); // the selector's input, not a data-path special case

        assertThat(post("/admin/members/pg1", "{\"state\":\"maint\",\"listener\":\"replicas\"}").status()).isEqualTo(200);
        assertThat(replicas.cluster.view().member("pg1").orElseThrow().admin()).isEqualTo(AdminState.MAINT);
        assertThat(postgres.cluster.view().member("pg1").orElseThrow().admin()).isEqualTo(AdminState.READY);

        JsonNode state = json(get("/admin/state"));
        assertThat(state.at("/listeners/0/listener").asText()).isEqualTo("postgres");
        assertThat(state.at("/listeners/0/leader").isNull()).isTrue();
        assertThat(state.at("/listeners/0/withheld").asText()).isEqualTo("pg0");
        assertThat(state.at("/listeners/0/members/0/state").asText()).isEqualTo("drain");
        assertThat(state.at("/listeners/1/members/1/status").asText()).isEqualTo("MAINT");
        JsonNode one = json(get("/admin/members/pg1"));
        assertThat(one.at("/listeners/1/listener").asText()).isEqualTo("replicas");
        assertThat(one.at("/listeners/1/state").asText()).isEqualTo("maint");

        assertThat(post("/admin/members/pg0", "application/json; charset=utf-8", "{\"state\":\"READY\"}", OPS).status()).isEqualTo(200);
        assertThat(postgres.cluster.view().leaderName()).contains("pg0");
    }

    @Test
    void shutdownSessionsAnswersHowManyWereTold() throws Exception {
        AdminApi.Response r = post("/admin/members/pg0/shutdown-sessions", "");
        assertThat(r.status()).isEqualTo(200);
        assertThat(json(r).get("sessions").asInt()).isZero();
        assertThat(json(r).get("listeners")).hasSize(2);
        assertThat(post("/admin/members/pg0/shutdown-sessions", "{\"listener\":\"replicas\"}").status()).isEqualTo(200);
    }

    @Test
    void thePasswordIsNeverInTheAuthsDescription() {
        assertThat(new BasicAuth("ops", "s3cret").toString()).doesNotContain("s3cret");
        assertThat(new BasicAuth("ops", "s3cret").authenticate(OPS)).contains("ops");
        assertThat(new BasicAuth("ops", "s3c:ret").authenticate(basic("ops", "s3c:ret"))).contains("ops");
    }
}
