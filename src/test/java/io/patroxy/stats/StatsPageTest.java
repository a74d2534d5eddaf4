package io.patroxy.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class StatsPageTest {

    private final StatsPage page = new StatsPage();

    @Test
    void showsEachMemberWithHaproxyStateAndPatroniRoleAndHighlightsTheLeader() {
        Fixtures f = new Fixtures();
        f.replica("pg1", 0);
        f.primary("pg0", 3, 1);

        String html = page.render(f.snapshot(70), Duration.ofSeconds(5));

        assertThat(html).contains("<meta http-equiv=\"refresh\" content=\"5\">")
                .contains("<tr id=\"server-pg0\" class=\"up leader\">")
                .contains("<tr id=\"server-pg1\" class=\"down\">")
                .contains("pg0 <span class=\"badge\">LEADER</span>")
                .contains("<td class=\"text role\">leader (timeline 3)</td>")
                .contains("<td class=\"text role\">replica (timeline 1)</td>")
                .contains("<td class=\"text\">503</td>")
                .contains("Leader: <b id=\"leader-name\">pg0</b>")
                .contains("<td class=\"text\">NONE</td><td class=\"text\">pg0</td>")
                .contains("1.2.3").contains("1m10s");
    }

    @Test
    void noRefreshLeavesOutTheMetaRefresh() {
        String html = page.render(new Fixtures().snapshot(0), Duration.ZERO);
        assertThat(html).doesNotContain("http-equiv=\"refresh\"").contains("refresh automatically");
    }

    @Test
    void isServedWithoutLeaderAndSaysSo() {
        Fixtures f = new Fixtures();
        f.replica("pg0", 0);
        f.replica("pg1", 0);
        String html = page.render(f.snapshot(42), Duration.ofSeconds(5));
        assertThat(html).contains("<div id=\"leader\" class=\"none\">Leader: <b id=\"leader-name\">NONE</b> for 42s")
                .contains("no leader seen yet");
    }

    @Test
    void escapesWhatItShows() {
        String html = page.render(Fixtures.snapshot(0, new Fixtures("<b>x</b>", io.patroxy.config.Role.PRIMARY, 5432),
                new Fixtures("replicas", io.patroxy.config.Role.REPLICA, 5433)), Duration.ZERO);
        assertThat(html).contains("&lt;b&gt;x&lt;/b&gt;").doesNotContain("<b>x</b>");
    }

    @Test
    void eachListenerHasItsSectionAndAHealthyReplicaIsUpInTheReplicasSection() {
        Fixtures primary = new Fixtures("primary", io.patroxy.config.Role.PRIMARY, 5432);
        Fixtures replicas = new Fixtures("replicas", io.patroxy.config.Role.REPLICA, 5433);
        primary.primary("pg0", 2, 0);
        primary.replica("pg1", 0);
        replicas.check("pg0", 503, "master", 2, 0);
        replicas.check("pg1", 200, "replica", 2, 0);

        String html = page.render(Fixtures.snapshot(5, primary, replicas), Duration.ZERO);

        assertThat(html).contains("<title>Patroxy statistics: primary, replicas</title>")
                .contains("<section class=\"listener\" id=\"section-primary\">")
                .contains("<section class=\"listener\" id=\"section-replicas\">")
                .contains("<h2 class=\"listener-name\">replicas: replica on 127.0.0.1:5433 <span class=\"muted\">(check /replica)</span></h2>")
                .contains("<tr id=\"primary-server-pg0\" class=\"up leader\">")
                .contains("<tr id=\"primary-server-pg1\" class=\"down\">")
                .contains("<tr id=\"replicas-server-pg0\" class=\"down\">")
                .contains("<tr id=\"replicas-server-pg1\" class=\"up\">")
                .contains("Leader: <b id=\"primary-leader-name\">pg0</b>")
                .contains("Members UP: <b id=\"replicas-up-count\">1</b>")
                .contains("id=\"primary-leader-changes\"").doesNotContain("id=\"replicas-leader-changes\"");
    }

    @Test
    void durationsReadLikeHaproxys() {
        assertThat(Formats.duration(0)).isEqualTo("0s");
        assertThat(Formats.duration(192)).isEqualTo("3m12s");
        assertThat(Formats.duration(7500)).isEqualTo("2h05m");
        assertThat(Formats.duration(3 * 86400 + 7200)).isEqualTo("3d2h");
        assertThat(Formats.millis(850)).isEqualTo("850ms");
        assertThat(Formats.millis(3200)).isEqualTo("3.2s");
    }
}
