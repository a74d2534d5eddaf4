package io.patroxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** Bad configuration stops the packaged app at start-up with one message naming key and value. */
class StartupConfigIT {

    private record Run(int exit, String output) {
    }

    private static Run start(Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", PatroxyProcess.JAR.toString())).redirectErrorStream(true);
        pb.environment().put("PATROXY_LISTEN_HOST", "127.0.0.1");
        pb.environment().put("PATROXY_LISTEN_PORT", "0");
        pb.environment().put("PATROXY_STATS_HOST", "127.0.0.1");
        pb.environment().put("PATROXY_STATS_PORT", "0");
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes(); // ends when the process exits
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("Patroxy kept running with a bad configuration");
        }
        return new Run(p.exitValue(), new String(out));
    }

    @Test
    void anInvalidValueStopsStartUpNamingTheKeyAndTheValue() throws Exception {
        Run run = start(Map.of("PATROXY_MEMBERS", "postgresql0=127.0.0.2", "PATROXY_CHECK_FALL", "0"));
        assertThat(run.exit()).isNotZero();
        assertThat(run.output()).contains("Invalid Patroxy configuration: patroxy.check.fall=0: must be at least 1");
    }

    @Test
    void aMalformedMemberStopsStartUp() throws Exception {
        Run run = start(Map.of("PATROXY_MEMBERS", "postgresql0=127.0.0.2:54x2"));
        assertThat(run.exit()).isNotZero();
        assertThat(run.output()).contains("patroxy.members='postgresql0=127.0.0.2:54x2'").contains("'54x2' is not a number");
    }

    @Test
    void missingMembersStopStartUp() throws Exception {
        Run run = start(Map.of());
        assertThat(run.exit()).isNotZero();
        assertThat(run.output()).contains("patroxy.members");
    }

    @Test
    void anUnparsableDurationStopsStartUp() throws Exception {
        Run run = start(Map.of("PATROXY_MEMBERS", "postgresql0=127.0.0.2", "PATROXY_CHECK_INTERVAL", "often"));
        assertThat(run.exit()).isNotZero();
        assertThat(run.output()).contains("patroxy.check.interval").contains("often");
    }
}
