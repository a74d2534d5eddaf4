package io.patroxy.stats;

import static io.patroxy.app.StubClusterResource.api0;
import static io.patroxy.app.StubClusterResource.api1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URL;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.patroxy.app.Patroxy;
import io.patroxy.health.StubPatroni.Mode;
import io.patroxy.proxy.Pg;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/** Every route and format of the stats listener, through the real HTTP server, in front of stub members. */
@QuarkusTest
@QuarkusTestResource(value = io.patroxy.app.StubClusterResource.class, restrictToAnnotatedClass = true)
class StatsEndpointTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final byte[] QUERY = Pg.query("SELECT 1");

    @Inject
    Patroxy patroxy;

    @TestHTTPResource("/")
    URL base;

    private final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void pg0IsTheLeader() {
        api0.mode(Mode.PRIMARY);
        api1.mode(Mode.REPLICA);
        await().atMost(WAIT).until(() -> patroxy.cluster().view().leaderName().orElse("").equals("pg0")
                && patroxy.cluster().view().member("pg0").orElseThrow().health().display().equals("UP")
                && patroxy.cluster().view().member("pg1").orElseThrow().health().display().equals("DOWN"));
    }

    private Scrape metrics() {
        HttpResponse<String> r = Http.get(base, "/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        return Scrape.of(r.body());
    }

    @Test
    void theAdminApiIsOffUnlessItsCredentialsAreSet() {
        HttpResponse<String> r = Http.get(base, "/admin/state");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.body()).contains("the admin API is off: set patroxy.admin.user and patroxy.admin.password");
        assertThat(metrics().value("patroxy_server_admin", "server", "pg0", "state", "ready")).isEqualTo(1.0);
        assertThat(metrics().value("patroxy_server_admin", "server", "pg0", "state", "drain")).isEqualTo(0.0);
    }

    @Test
    void pageShowsMembersLeaderAndRefreshesUnlessNorefresh() {
        HttpResponse<String> page = Http.get(base, "/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/html"));
        assertThat(page.body()).contains("<meta http-equiv=\"refresh\" content=\"5\">")
                .contains("<tr id=\"server-pg0\" class=\"up leader\">")
                .contains("<tr id=\"server-pg1\" class=\"down\">")
                .contains("<td class=\"text role\">leader (timeline 1)</td>")
                .contains("<td class=\"text role\">replica (timeline 1)</td>")
                .contains("Leader: <b id=\"leader-name\">pg0</b>");

        HttpResponse<String> norefresh = Http.get(base, "/;norefresh");
        assertThat(norefresh.statusCode()).isEqualTo(200);
        assertThat(norefresh.body()).doesNotContain("http-equiv=\"refresh\"").contains("server-pg0");
    }

    @Test
    void csvAtHaproxysPathAndAtStatsCsvParsesWithHaproxysHeader() throws IOException {
        for (String path : new String[] {"/;csv", "/stats.csv", "/;csv;norefresh"}) {
            HttpResponse<String> r = Http.get(base, path);
            assertThat(r.statusCode()).as(path).isEqualTo(200);
            assertThat(r.body()).startsWith("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,"
                    + "eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,"
                    + "throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,");
            Map<String, Map<String, String>> rows = HaproxyCsvTest.parse(r.body());
            assertThat(rows.keySet()).containsExactlyInAnyOrder("FRONTEND", "pg0", "pg1", "BACKEND");
            assertThat(rows.get("pg0")).containsEntry("pxname", "postgres").containsEntry("status", "UP")
                    .containsEntry("check_status", "L7OK").containsEntry("check_code", "200");
            assertThat(rows.get("pg1")).containsEntry("status", "DOWN").containsEntry("check_status", "L7STS")
                    .containsEntry("check_code", "503");
            assertThat(rows.get("BACKEND")).containsEntry("status", "UP");
            assertThat(rows.get("FRONTEND")).containsEntry("status", "OPEN");
        }
        assertThat(HaproxyCsvTest.haproxyHeader()).startsWith(HaproxyCsv.COLUMNS.toArray(String[]::new));
    }

    @Test
    void jsonAtHaproxysPathAndAtStatsJson() throws IOException {
        for (String path : new String[] {"/;json", "/stats.json"}) {
            HttpResponse<String> r = Http.get(base, path);
            assertThat(r.statusCode()).as(path).isEqualTo(200);
            assertThat(r.headers().firstValue("content-type")).contains("application/json");
            JsonNode s = json.readTree(r.body());
            assertThat(s.path("proxy").asText()).isEqualTo("postgres");
            assertThat(s.path("leadership").path("leader").asText()).isEqualTo("pg0");
            assertThat(s.path("servers")).hasSize(2);
            assertThat(s.path("servers").get(0).path("name").asText()).isEqualTo("pg0");
            assertThat(s.path("servers").get(0).path("status").asText()).isEqualTo("UP");
            assertThat(s.path("servers").get(0).path("role").asText()).isEqualTo("primary");
            assertThat(s.path("servers").get(1).path("check").path("code").asInt()).isEqualTo(503);
            assertThat(s.path("frontend").path("limit").asInt()).isEqualTo(100);
            assertThat(s.path("now").asText()).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
        }
    }

    @Test
    void metricsMoveWhenASessionRuns() throws IOException {
        Scrape before = metrics();
        double sessions = before.value("patroxy_server_sessions_total", "server", "pg0");
        double sent = before.value("patroxy_server_bytes_total", "server", "pg0", "direction", "client_to_server");
        double received = before.value("patroxy_server_bytes_total", "server", "pg0", "direction", "server_to_client");
        InetSocketAddress proxy = patroxy.proxyAddress();
        try (Socket s = new Socket(proxy.getAddress(), proxy.getPort())) {
            s.setSoTimeout(10_000);
            Pg.login(s);
            s.getOutputStream().write(QUERY);
            assertThat(Pg.read(s.getInputStream()).type()).isEqualTo('Q'); // the stub echoes it
            await().atMost(WAIT).until(() -> metrics().value("patroxy_server_sessions_current", "server", "pg0") == 1);
        }
        await().atMost(WAIT).untilAsserted(() -> {
            Scrape after = metrics();
            assertThat(after.value("patroxy_server_sessions_total", "server", "pg0")).isEqualTo(sessions + 1);
            assertThat(after.value("patroxy_server_sessions_current", "server", "pg0")).isZero();
            assertThat(after.value("patroxy_server_bytes_total", "server", "pg0", "direction", "client_to_server"))
                    .isEqualTo(sent + Pg.STARTUP.length + QUERY.length);
            assertThat(after.value("patroxy_server_bytes_total", "server", "pg0", "direction", "server_to_client"))
                    .isEqualTo(received + Pg.AUTH_OK_READY.length + QUERY.length);
            assertThat(after.value("patroxy_session_closes_total", "cause", "client_closed")).isGreaterThanOrEqualTo(1);
        });
    }

    /**
     * Issue 13: each certificate's notAfter (TlsTest: a cert-file's). Passthrough without a cert-file
     * has none until a refusal inside TLS needs its ephemeral one: no gauge for it.
     */
    @Test
    void passthroughWithoutACertificateShowsNoCertificateExpiry() {
        assertThat(metrics().has("patroxy_tls_certificate_expiry_seconds")).isFalse();
    }

    @Test
    void metricsCountFailedChecksAndTheJvm() {
        double failures = metrics().value("patroxy_server_check_failures_total", "server", "pg1");
        await().atMost(WAIT).until(() -> metrics().value("patroxy_server_check_failures_total", "server", "pg1") > failures);
        Scrape s = metrics();
        assertThat(s.value("patroxy_server_status", "server", "pg1", "state", "DOWN")).isEqualTo(1);
        assertThat(s.value("patroxy_server_status", "server", "pg0", "state", "UP")).isEqualTo(1);
        assertThat(s.value("patroxy_server_check_duration_seconds", "server", "pg0")).isGreaterThan(0).isLessThan(1);
        assertThat(s.has("jvm_memory_used_bytes")).isTrue();
        assertThat(s.has("process_cpu_usage")).isTrue();
    }

    @Test
    void everyMetricTheGrafanaDashboardQueriesIsServed() throws IOException {
        JsonNode dashboard = json.readTree(Path.of("monitoring/grafana/dashboards/patroxy.json").toFile());
        Set<String> queried = new TreeSet<>();
        Pattern name = Pattern.compile("\\b((?:patroxy|jvm|process)_[a-z0-9_]+)");
        for (JsonNode expr : dashboard.findValues("expr")) {
            Matcher m = name.matcher(expr.asText());
            while (m.find()) {
                queried.add(m.group(1));
            }
        }
        for (JsonNode query : dashboard.findValues("definition")) {
            Matcher m = name.matcher(query.asText());
            while (m.find()) {
                queried.add(m.group(1));
            }
        }
        assertThat(queried).contains("patroxy_server_up", "patroxy_server_bytes_total", "patroxy_info");
        Scrape s = metrics();
        assertThat(queried).allSatisfy(metric -> assertThat(s.has(metric)).as(metric).isTrue());
    }

    @Test
    void withoutLeaderPageStillServedReadinessDownAndMetricsCountTheGap() {
        double changes = metrics().value("patroxy_leader_changes_total");
        double downs = metrics().value("patroxy_server_transitions_total", "server", "pg0", "to", "down");
        assertThat(Http.get(base, "/q/health/ready").statusCode()).isEqualTo(200);

        api0.mode(Mode.REPLICA);
        // not ready from Patroni's first no (new sessions wait: GoingDownLeaderTest); no leader once marked DOWN
        await().atMost(WAIT).until(() -> Http.get(base, "/q/health/ready").statusCode() == 503);
        await().atMost(WAIT).until(() -> metrics().value("patroxy_leader_known") == 0);
        assertThat(Http.get(base, "/q/health/ready").statusCode()).isEqualTo(503);
        HttpResponse<String> page = Http.get(base, "/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("<div id=\"leader\" class=\"none\">Leader: <b id=\"leader-name\">NONE</b>");
        assertThat(Http.get(base, "/q/health/live").statusCode()).isEqualTo(200);
        assertThat(metrics().value("patroxy_leader_known")).isZero();
        assertThat(metrics().value("patroxy_server_transitions_total", "server", "pg0", "to", "down")).isEqualTo(downs + 1);

        api0.mode(Mode.PRIMARY);
        await().atMost(WAIT).until(() -> Http.get(base, "/q/health/ready").statusCode() == 200);
        Scrape s = metrics();
        assertThat(s.value("patroxy_leader_changes_total")).isEqualTo(changes + 1);
        assertThat(s.value("patroxy_no_leader_seconds_total")).isGreaterThan(0);
        assertThat(s.value("patroxy_server_transitions_total", "server", "pg0", "to", "up")).isGreaterThanOrEqualTo(1);
        assertThat(Http.get(base, "/").body()).contains("<td class=\"text\">pg0</td><td class=\"text\">NONE</td>");
    }
}
