package io.patroxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

/** patroxy.tls.* and patroxy.server.tls.*: the contract's names, defaults, and a clear error for each mistake. */
class TlsConfigTest {

    @TempDir
    static Path dir;
    static TestCerts.Issued ca;
    static TestCerts.Issued leaf;

    @BeforeAll
    static void certs() {
        ca = TestCerts.ca(dir, "ca");
        leaf = TestCerts.leaf(dir, "patroxy", ca, Duration.ofDays(10), "localhost", "127.0.0.1");
    }

    private static ConfigValidation.Settings settings(String... keyValues) {
        Map<String, String> props = new HashMap<>();
        props.put("patroxy.members", "postgresql0=127.0.0.2:5432:8008");
        for (int i = 0; i < keyValues.length; i += 2) {
            props.put(keyValues[i], keyValues[i + 1]);
        }
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(PatroxyConfig.class)
                .withConverter(Duration.class, 100, new DurationConverter())
                .withSources(new PropertiesConfigSource(props, "test", 100)).build();
        return ConfigValidation.validate(config.getConfigMapping(PatroxyConfig.class));
    }

    @Test
    void defaultsArePassthroughWithTls12And13AndAPreferredServerLeg() {
        TlsSettings t = settings().tls();
        assertThat(t.mode()).isEqualTo(TlsSettings.ClientMode.PASSTHROUGH);
        assertThat(t.certFile()).isEmpty();
        assertThat(t.protocols()).containsExactly("TLSv1.2", "TLSv1.3");
        assertThat(t.ciphers()).isEmpty();
        assertThat(t.serverMode()).isEqualTo(TlsSettings.ServerMode.PREFER);
        assertThat(t.serverLegTls()).isFalse();
    }

    @Test
    void terminateWithFilesAndVerifyFull() {
        TlsSettings t = settings("patroxy.tls.mode", "terminate", "patroxy.tls.cert-file", leaf.certFile().toString(),
                "patroxy.tls.key-file", leaf.keyFile().toString(), "patroxy.tls.ca-file", ca.certFile().toString(),
                "patroxy.tls.protocols", "TLSv1.3", "patroxy.tls.ciphers", "TLS_AES_128_GCM_SHA256",
                "patroxy.server.tls.mode", "verify-full", "patroxy.server.tls.ca-file", ca.certFile().toString()).tls();
        assertThat(t.mode()).isEqualTo(TlsSettings.ClientMode.TERMINATE);
        assertThat(t.certFile()).contains(leaf.certFile());
        assertThat(t.caFile()).contains(ca.certFile());
        assertThat(t.protocols()).containsExactly("TLSv1.3");
        assertThat(t.ciphers()).containsExactly("TLS_AES_128_GCM_SHA256");
        assertThat(t.serverMode()).isEqualTo(TlsSettings.ServerMode.VERIFY_FULL);
        assertThat(t.serverLegTls()).isTrue();
        assertThat(settings("patroxy.tls.mode", "require").tls().mode()).as("no files: an ephemeral certificate")
                .isEqualTo(TlsSettings.ClientMode.REQUIRE);
    }

    @Test
    void badModesNameTheKeyAndTheChoices() {
        assertThatThrownBy(() -> settings("patroxy.tls.mode", "on"))
                .hasMessageContaining("patroxy.tls.mode='on': must be passthrough, terminate or require");
        assertThatThrownBy(() -> settings("patroxy.server.tls.mode", "verify_full"))
                .hasMessageContaining("patroxy.server.tls.mode='verify_full': must be disable, prefer, require, verify-ca or verify-full");
    }

    @Test
    void aCertificateWithoutItsKeyOrTheOtherWayRound() {
        assertThatThrownBy(() -> settings("patroxy.tls.mode", "terminate", "patroxy.tls.cert-file", leaf.certFile().toString()))
                .hasMessageContaining("patroxy.tls.cert-file is set but patroxy.tls.key-file is not");
        assertThatThrownBy(() -> settings("patroxy.tls.mode", "require", "patroxy.tls.key-file", leaf.keyFile().toString()))
                .hasMessageContaining("patroxy.tls.key-file is set but patroxy.tls.cert-file is not");
    }

    @Test
    void missingUnreadableAndWrongFiles() throws Exception {
        assertThatThrownBy(() -> settings("patroxy.tls.mode", "terminate", "patroxy.tls.cert-file", "/nonexistent/x.crt",
                "patroxy.tls.key-file", leaf.keyFile().toString()))
                .hasMessageContaining("patroxy.tls.cert-file='/nonexistent/x.crt': no such file");
        // a key where the certificate should be, and the other way round
        assertThatThrownBy(() -> settings("patroxy.tls.mode", "terminate", "patroxy.tls.cert-file", leaf.keyFile().toString(),
                "patroxy.tls.key-file", leaf.certFile().toString()))
                .hasMessageContaining("patroxy.tls.cert-file='" + leaf.keyFile() + "': ")
                .hasMessageContaining("patroxy.tls.key-file='" + leaf.certFile() + "': no PEM private key in it");
        Path encrypted = dir.resolve("encrypted.key");
        Files.writeString(encrypted, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
        assertThatThrownBy(() -> settings("patroxy.tls.mode", "terminate", "patroxy.tls.cert-file", leaf.certFile().toString(),
                "patroxy.tls.key-file", encrypted.toString()))
                .hasMessageContaining("the key is encrypted").hasMessageNotContaining("AAAA");
        assertThatThrownBy(() -> settings("patroxy.tls.ca-file", dir.toString()))
                .hasMessageContaining("patroxy.tls.ca-file='" + dir + "': no such file");
        Path unreadable = dir.resolve("unreadable.crt");
        Files.copy(leaf.certFile(), unreadable);
        unreadable.toFile().setReadable(false, false);
        if (!Files.isReadable(unreadable)) { // root reads everything: the check above stands for it there
            assertThatThrownBy(() -> settings("patroxy.tls.ca-file", unreadable.toString())).hasMessageContaining("not readable");
        }
    }

    @Test
    void verifyingTheServerNeedsACa() {
        assertThatThrownBy(() -> settings("patroxy.tls.mode", "terminate", "patroxy.server.tls.mode", "verify-ca"))
                .hasMessageContaining("patroxy.server.tls.mode=verify-ca needs patroxy.server.tls.ca-file");
        assertThatThrownBy(() -> settings("patroxy.tls.mode", "terminate", "patroxy.server.tls.mode", "verify-full"))
                .hasMessageContaining("patroxy.server.tls.mode=verify-full needs patroxy.server.tls.ca-file");
    }

    @Test
    void onlyTls12AndUpAndKnownCiphers() {
        assertThatThrownBy(() -> settings("patroxy.tls.protocols", "TLSv1.1,TLSv1.2"))
                .hasMessageContaining("TLSv1.1 is not allowed (TLSv1.2 and TLSv1.3 only)");
        assertThatThrownBy(() -> settings("patroxy.tls.protocols", " , "))
                .hasMessageContaining("patroxy.tls.protocols");
        assertThatThrownBy(() -> settings("patroxy.tls.ciphers", "TLS_AES_128_GCM_SHA256,RC4-LOL"))
                .hasMessageContaining("unknown cipher suites [RC4-LOL]");
    }

    @Test
    void settingsThatDoNothingInPassthroughAreWarnedAbout() {
        ConfigValidation.Settings s = settings("patroxy.tls.ca-file", ca.certFile().toString(), "patroxy.server.tls.mode", "require");
        assertThat(s.warnings()).anyMatch(w -> w.startsWith("patroxy.tls.ca-file is ignored with patroxy.tls.mode=passthrough"))
                .anyMatch(w -> w.startsWith("patroxy.server.tls.mode=require is ignored with patroxy.tls.mode=passthrough"));
    }
}
