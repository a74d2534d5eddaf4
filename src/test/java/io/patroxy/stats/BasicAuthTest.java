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
        assertThat(BasicAuth.fromConfig(Optional.empty())).isEmpty();
        assertThat(BasicAuth.fromConfig(Optional.of("  "))).isEmpty();
    }

    @Test
    void acceptsOnlyTheConfiguredUserAndPassword() {
        BasicAuth auth = BasicAuth.fromConfig(Optional.of("admin:s3cr:et")).orElseThrow();
        assertThat(auth.accepts(basic("admin:s3cr:et"))).isTrue();
        assertThat(auth.accepts(basic("admin:wrong"))).isFalse();
        assertThat(auth.accepts(null)).isFalse();
        assertThat(auth.accepts("Bearer x")).isFalse();
    }

    @Test
    void rejectsASettingWithoutUserOrPasswordNamingTheProperty() {
        assertThatThrownBy(() -> BasicAuth.fromConfig(Optional.of("admin"))).hasMessageContaining("patroxy.stats.auth");
        assertThatThrownBy(() -> BasicAuth.fromConfig(Optional.of(":pw"))).hasMessageContaining("user:password");
        assertThatThrownBy(() -> BasicAuth.fromConfig(Optional.of("admin:"))).hasMessageContaining("PATROXY_STATS_AUTH");
    }
}
