package io.patroxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/** {@code patroxy.listeners} (issue 12): the syntax, its defaults and every error named. */
class ListenersConfigTest {

    private static ConfigValidation.Settings settings(String... keyValues) {
        Map<String, String> props = new HashMap<>();
        props.put("patroxy.members", "postgresql0=127.0.0.2,postgresql1=127.0.0.3");
        for (int i = 0; i < keyValues.length; i += 2) {
            props.put(keyValues[i], keyValues[i + 1]);
        }
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(PatroxyConfig.class)
                .withConverter(Duration.class, 100, new DurationConverter())
                .withSources(new PropertiesConfigSource(props, "test", 100)).build();
        return ConfigValidation.validate(config.getConfigMapping(PatroxyConfig.class));
    }

    @Test
    void unsetIsTodaysSingleLeaderListener() {
        ConfigValidation.Settings s = settings("patroxy.stats.name", "pg", "patroxy.listen.port", "6000",
                "patroxy.check.path", "/leader");
        assertThat(s.listeners()).singleElement().satisfies(l -> {
            assertThat(l.name()).isEqualTo("pg");
            assertThat(l.role()).isEqualTo(Role.PRIMARY);
            assertThat(l.proxy().port()).isEqualTo(6000);
            assertThat(l.check().path()).isEqualTo("/leader");
        });
        assertThat(s.warnings()).isEmpty();
    }

    @Test
    void theIssuesExampleParsesWithItsOptions() {
        ConfigValidation.Settings s = settings("patroxy.listeners",
                "postgres=5432:primary,replicas=10.0.0.5:5433:replica?lag=16MB;balance=roundrobin;fallback=on;drop=off;maxconn=50;hold=2s,sync=5434:sync",
                "patroxy.maxconn", "80");
        List<ListenerSettings> ls = s.listeners();
        assertThat(ls).extracting(ListenerSettings::name).containsExactly("postgres", "replicas", "sync");
        ListenerSettings replicas = ls.get(1);
        assertThat(replicas.role()).isEqualTo(Role.REPLICA);
        assertThat(replicas.check().path()).isEqualTo("/replica?lag=16MB");
        assertThat(replicas.proxy().host()).isEqualTo("10.0.0.5");
        assertThat(replicas.proxy().port()).isEqualTo(5433);
        assertThat(replicas.proxy().maxconn()).isEqualTo(50);
        assertThat(replicas.proxy().holdTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(replicas.spec().balance()).isEqualTo(ListenerSpec.Balance.ROUNDROBIN);
        assertThat(replicas.spec().fallback()).isTrue();
        assertThat(replicas.spec().dropOnDown()).isFalse();
        ListenerSettings sync = ls.get(2);
        assertThat(sync.check().path()).isEqualTo("/sync");
        assertThat(sync.proxy().host()).isEqualTo("0.0.0.0");
        assertThat(sync.proxy().maxconn()).isEqualTo(80);
        assertThat(sync.spec().balance()).isEqualTo(ListenerSpec.Balance.LEASTCONN);
        assertThat(sync.spec().dropOnDown()).isTrue();
    }

    @Test
    void everyRoleNamesItsEndpoint() {
        assertThat(ListenerSpec.parse("a=1:primary").checkPath()).isEqualTo("/primary");
        assertThat(ListenerSpec.parse("a=1:leader").checkPath()).isEqualTo("/leader");
        assertThat(ListenerSpec.parse("a=1:read-only").checkPath()).isEqualTo("/read-only");
        assertThat(ListenerSpec.parse("a=1:async").checkPath()).isEqualTo("/async");
        assertThat(ListenerSpec.parse("a=1:any").checkPath()).isEqualTo("/health");
        assertThat(ListenerSpec.parse("a=1:leader").role().leaderRole()).isTrue();
        assertThat(ListenerSpec.parse("a=1:sync").role().leaderRole()).isFalse();
    }

    @Test
    void listenersAndCheckPathTogetherAreAnErrorNamingBoth() {
        assertThatThrownBy(() -> settings("patroxy.listeners", "p=5432:primary", "patroxy.check.path", "/primary"))
                .hasMessageContaining("patroxy.check.path='/primary' and patroxy.listeners are both set");
    }

    @Test
    void listenPortBesideListenersIsOnlyAWarning() {
        ConfigValidation.Settings s = settings("patroxy.listeners", "p=6432:primary", "patroxy.listen.port", "5432");
        assertThat(s.warnings()).containsExactly("patroxy.listen.port=5432 is ignored: patroxy.listeners sets the ports");
        assertThat(s.listeners().get(0).proxy().port()).isEqualTo(6432);
    }

    @Test
    void badListenersAreNamedWithWhatWasExpected() {
        assertThatThrownBy(() -> settings("patroxy.listeners", "replicas=5433:replicaz"))
                .hasMessageContaining("patroxy.listeners: unknown role 'replicaz'; one of primary, leader, replica, read-only, sync, async, any");
        assertThatThrownBy(() -> settings("patroxy.listeners", "replicas:5433"))
                .hasMessageContaining("expected NAME=[HOST:]PORT:ROLE");
        assertThatThrownBy(() -> settings("patroxy.listeners", "a=5432:primary,a=5433:replica"))
                .hasMessageContaining("listener name 'a' appears twice");
        assertThatThrownBy(() -> settings("patroxy.listeners", "a=5432:primary,b=5432:replica"))
                .hasMessageContaining("port 5432 is used by two listeners");
        assertThat(settings("patroxy.listeners", "a=0:primary,b=0:replica").listeners()).hasSize(2); // any free port, each
        assertThatThrownBy(() -> settings("patroxy.listeners", "a=5432:primary;fallback=on"))
                .hasMessageContaining("balance and fallback apply to balanced roles, not to primary");
        assertThatThrownBy(() -> settings("patroxy.listeners", "r=5433:replica;balance=random"))
                .hasMessageContaining("balance=random: must be leastconn or roundrobin");
        assertThatThrownBy(() -> settings("patroxy.listeners", "r=5433:replica;maxconn=0"))
                .hasMessageContaining("maxconn=0: must be a whole number of at least 1");
        assertThatThrownBy(() -> settings("patroxy.listeners", "r=5433:replica;weight=3"))
                .hasMessageContaining("unknown option 'weight'");
        assertThatThrownBy(() -> settings("patroxy.listeners", "r=5433:replica;fallback=on"))
                .hasMessageContaining("r has fallback=on but no listener has role primary or leader");
    }

    @Test
    void theSpecRecordKeepsOptionalsEmptyWhenUnset() {
        ListenerSpec s = ListenerSpec.parse("r=5433:replica");
        assertThat(s.host()).isEqualTo(Optional.empty());
        assertThat(s.maxconn()).isEmpty();
        assertThat(s.hold()).isEmpty();
        assertThat(s.query()).isEmpty();
    }
}
