package io.patroxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/** The real mapping, built by SmallRye Config from properties, then validated. */
class ConfigValidationTest {

    private static ConfigValidation.Settings settings(String... keyValues) {
        Map<String, String> props = new HashMap<>();
        props.put("patroxy.members", "postgresql0=127.0.0.2:5432:8008,postgresql1=127.0.0.3:5432:8008");
        for (int i = 0; i < keyValues.length; i += 2) {
            props.put(keyValues[i], keyValues[i + 1]);
        }
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withMapping(PatroxyConfig.class)
                .withConverter(Duration.class, 100, new DurationConverter()) // Quarkus' "3s" / "30m" form
                .withSources(new PropertiesConfigSource(props, "test", 100))
                .build();
        return ConfigValidation.validate(config.getConfigMapping(PatroxyConfig.class));
    }

    @Test
    void defaultsReproduceTheSeedsHaproxyCfg() {
        ConfigValidation.Settings s = settings();
        assertThat(s.check().interval()).isEqualTo(Duration.ofSeconds(3));
        assertThat(s.check().fall()).isEqualTo(3);
        assertThat(s.check().rise()).isEqualTo(2);
        assertThat(s.check().timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(s.check().path()).isEqualTo("/primary");
        assertThat(s.proxy().connectTimeout()).isEqualTo(Duration.ofSeconds(4));
        assertThat(s.proxy().retries()).isEqualTo(3);
        assertThat(s.proxy().clientTimeout()).isEqualTo(Duration.ofMinutes(30));
        assertThat(s.proxy().serverTimeout()).isEqualTo(Duration.ofMinutes(30));
        assertThat(s.proxy().maxconn()).isEqualTo(100);
        assertThat(s.proxy().host()).isEqualTo("0.0.0.0");
        assertThat(s.proxy().port()).isEqualTo(5432);
        assertThat(s.members()).hasSize(2);
    }

    @Test
    void valuesAreTakenFromProperties() {
        ConfigValidation.Settings s = settings("patroxy.check.interval", "500ms", "patroxy.check.fall", "5",
                "patroxy.listen.host", "127.0.0.1", "patroxy.maxconn", "7");
        assertThat(s.check().interval()).isEqualTo(Duration.ofMillis(500));
        assertThat(s.check().fall()).isEqualTo(5);
        assertThat(s.proxy().host()).isEqualTo("127.0.0.1");
        assertThat(s.proxy().maxconn()).isEqualTo(7);
    }

    @Test
    void badValuesNameTheKeyAndTheValue() {
        assertThatThrownBy(() -> settings("patroxy.check.fall", "0"))
                .hasMessageContaining("patroxy.check.fall=0").hasMessageContaining("at least 1");
        assertThatThrownBy(() -> settings("patroxy.members", "a=h:xyz"))
                .hasMessageContaining("patroxy.members='a=h:xyz'").hasMessageContaining("'xyz' is not a number");
        assertThatThrownBy(() -> settings("patroxy.check.path", "primary"))
                .hasMessageContaining("patroxy.check.path='primary'");
        assertThatThrownBy(() -> settings("patroxy.check.scheme", "ftp")).hasMessageContaining("patroxy.check.scheme='ftp'");
        assertThatThrownBy(() -> settings("patroxy.listen.port", "70000")).hasMessageContaining("patroxy.listen.port=70000");
        assertThatThrownBy(() -> settings("patroxy.check.interval", "0s")).hasMessageContaining("patroxy.check.interval=PT0S");
    }

    @Test
    void allProblemsAreReportedInOneMessage() {
        assertThatThrownBy(() -> settings("patroxy.check.fall", "0", "patroxy.maxconn", "0"))
                .isInstanceOf(ConfigValidation.InvalidConfigException.class)
                .hasMessageStartingWith("Invalid Patroxy configuration: ")
                .hasMessageContaining("patroxy.check.fall=0").hasMessageContaining("patroxy.maxconn=0");
    }

    @Test
    void unparsableDurationIsRejectedBySmallRyeWithTheKey() {
        assertThatThrownBy(() -> settings("patroxy.check.timeout", "soon"))
                .hasMessageContaining("patroxy.check.timeout").hasMessageContaining("soon");
    }

    @Test
    void theZooKeeperWatchIsOffUnlessAConnectStringIsGiven() {
        assertThat(settings().dcs()).isEmpty();
        DcsSettings dcs = settings("patroxy.dcs.zookeeper", "zk1:2181,zk2:2181", "patroxy.dcs.scope", "my_cluster",
                "patroxy.dcs.namespace", "/service/").dcs().orElseThrow();
        assertThat(dcs.clusterPath()).isEqualTo("/service/my_cluster");
        assertThat(dcs.fastinter()).isEqualTo(Duration.ofMillis(50));
        assertThat(dcs.connect()).isEqualTo("zk1:2181,zk2:2181");
    }

    @Test
    void theWatchNeedsAScopeAndAPathAndThePasswordIsNeverShown() {
        assertThatThrownBy(() -> settings("patroxy.dcs.zookeeper", "zk:2181"))
                .hasMessageContaining("patroxy.dcs.scope=''").hasMessageContaining("required with patroxy.dcs.zookeeper");
        assertThatThrownBy(() -> settings("patroxy.dcs.zookeeper", "zk:2181", "patroxy.dcs.scope", "c", "patroxy.dcs.namespace", "service"))
                .hasMessageContaining("patroxy.dcs.namespace='service'");
        assertThatThrownBy(() -> settings("patroxy.dcs.zookeeper", "zk:2181", "patroxy.dcs.scope", "c", "patroxy.dcs.auth", "s3cret"))
                .hasMessageContaining("patroxy.dcs.auth: must be user:password").hasMessageNotContaining("s3cret");
        DcsSettings dcs = settings("patroxy.dcs.zookeeper", "zk:2181", "patroxy.dcs.scope", "c", "patroxy.dcs.auth", "patroxy:s3cret")
                .dcs().orElseThrow();
        assertThat(dcs.toString()).contains("digest auth as patroxy").doesNotContain("s3cret");
    }

    @Test
    void adminCredentialsComeInPairsAndThePasswordIsNeverShown() {
        assertThatThrownBy(() -> settings("patroxy.admin.user", "ops"))
                .hasMessageContaining("patroxy.admin.user is set but patroxy.admin.password is not");
        assertThatThrownBy(() -> settings("patroxy.admin.password", "s3cret-value"))
                .hasMessageContaining("patroxy.admin.password is set but patroxy.admin.user is not")
                .hasMessageNotContaining("s3cret-value");
        assertThatThrownBy(() -> settings("patroxy.admin.user", "o:ps", "patroxy.admin.password", "s3cret-value"))
                .hasMessageContaining("must not contain ':'").hasMessageNotContaining("s3cret-value");
        assertThat(settings("patroxy.admin.user", "ops", "patroxy.admin.password", "s3cret-value").members()).hasSize(2);
    }
}
