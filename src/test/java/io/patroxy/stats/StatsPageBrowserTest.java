package io.patroxy.stats;

import static io.patroxy.app.StubClusterResource.api0;
import static io.patroxy.app.StubClusterResource.api1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URL;
import java.nio.file.Path;
import java.time.Duration;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.patroxy.app.Patroxy;
import io.patroxy.health.StubPatroni.Mode;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/** The stats page in a real (headless) browser, in front of stub members. */
@QuarkusTest
@QuarkusTestResource(value = io.patroxy.app.StubClusterResource.class, restrictToAnnotatedClass = true)
class StatsPageBrowserTest {

    @Inject
    Patroxy patroxy;

    @TestHTTPResource("/")
    URL base;

    @Test
    void aPersonSeesTheLeaderHighlightedAndEachMembersState() throws Exception {
        api0.mode(Mode.PRIMARY);
        api1.mode(Mode.REPLICA);
        await().atMost(Duration.ofSeconds(10)).until(() -> patroxy.cluster().view().leaderName().orElse("").equals("pg0"));

        StatsPageBrowser browser = new StatsPageBrowser(Path.of("target", "stats-browser"));
        StatsPageBrowser.Page page = browser.open("http://127.0.0.1:" + base.getPort() + "/;norefresh", "stats-page");

        assertThat(page.dom()).contains("<b id=\"leader-name\">pg0</b>")
                .contains("<tr id=\"server-pg0\" class=\"up leader\">")
                .contains("<tr id=\"server-pg1\" class=\"down\">")
                .contains("leader (timeline 1)").contains("replica (timeline 1)");
        assertThat(page.screenshot()).isRegularFile();
        assertThat(page.screenshot().toFile().length()).isGreaterThan(10_000);
    }
}
