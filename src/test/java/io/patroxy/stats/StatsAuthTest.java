package io.patroxy.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/** With {@code patroxy.stats.auth} set: the page, its formats and /metrics need it, the probes do not. */
@QuarkusTest
@TestProfile(StatsAuthTest.WithAuth.class)
@QuarkusTestResource(value = io.patroxy.app.StubClusterResource.class, restrictToAnnotatedClass = true)
class StatsAuthTest {

    public static class WithAuth implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("patroxy.stats.auth", "admin:s3cret");
        }
    }

    private static final String[] GUARDED = {"/", "/;norefresh", "/;csv", "/;json", "/stats.csv", "/stats.json", "/metrics"};

    @TestHTTPResource("/")
    URL base;

    @Test
    void withoutCredentialsEveryStatsRouteAnswers401WithAChallenge() {
        for (String path : GUARDED) {
            var r = Http.get(base, path);
            assertThat(r.statusCode()).as(path).isEqualTo(401);
            assertThat(r.headers().firstValue("www-authenticate")).as(path).hasValueSatisfying(
                    v -> assertThat(v).startsWith("Basic realm="));
        }
        assertThat(Http.get(base, "/", BasicAuthTest.basic("admin:wrong")).statusCode()).isEqualTo(401);
    }

    @Test
    void withCredentialsEveryStatsRouteAnswers200() {
        for (String path : GUARDED) {
            assertThat(Http.get(base, path, BasicAuthTest.basic("admin:s3cret")).statusCode()).as(path).isEqualTo(200);
        }
    }

    @Test
    void healthProbesStayOpen() {
        assertThat(Http.get(base, "/q/health/live").statusCode()).isEqualTo(200);
        assertThat(Http.get(base, "/q/health/ready").statusCode()).isIn(200, 503);
        assertThat(Http.get(base, "/q/health").statusCode()).isIn(200, 503);
    }
}
