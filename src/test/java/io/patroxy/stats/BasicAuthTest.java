package io.patroxy.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

import org.junit.jupiter.api.Test;

class BasicAuthTest {

    static String basic(String userColonPassword) {
        return "Basic " + Base64.getEncoder().encodeToString(userColonPassword.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void offUnlessSet() {
        assertThat(BasicAuth.forStats(Optional.empty())).isEmpty();
        assertThat(BasicAuth.forStats(Optional.of("  "))).isEmpty();
    }

    @Test
    void acceptsOnlyTheConfiguredUserAndPassword() {
        BasicAuth auth = BasicAuth.forStats(Optional.of("admin:s3cr:et")).orElseThrow();
        assertThat(auth.accepts(basic("admin:s3cr:et"))).isTrue();
        assertThat(auth.accepts(basic("admin:wrong"))).isFalse();
        assertThat(auth.accepts(null)).isFalse();
        assertThat(auth.accepts("Bearer x")).isFalse();
        assertThat(auth.accepts(basic("admi:s3cr:et"))).as("another user").isFalse();
        assertThat(auth.accepts(basic("admin:s3cr"))).as("a prefix of the password").isFalse();
        assertThat(auth.accepts("Basic %%%")).as("not base64").isFalse();
        assertThat(auth.accepts(basic("admins3cret"))).as("no colon").isFalse();
        // RFC 7617: the scheme is case-insensitive; the header may carry spaces around it
        assertThat(auth.accepts("  basic " + basic("admin:s3cr:et").substring(6) + " ")).isTrue();
        assertThat(auth.authenticate(basic("admin:s3cr:et"))).contains("admin");
        assertThat(auth.toString()).doesNotContain("s3cr");
    }

    @Test
    void rejectsASettingWithoutUserOrPasswordNamingTheProperty() {
        assertThatThrownBy(() -> BasicAuth.forStats(Optional.of("admin"))).hasMessageContaining("patroxy.stats.auth");
        assertThatThrownBy(() -> BasicAuth.forStats(Optional.of(":pw"))).hasMessageContaining("user:password");
        assertThatThrownBy(() -> BasicAuth.forStats(Optional.of("admin:"))).hasMessageContaining("PATROXY_STATS_AUTH");
    }
}
