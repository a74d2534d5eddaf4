package io.patroxy.it;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;

/** The packaged application ({@code java -jar target/quarkus-app/quarkus-run.jar}) as a user runs it. */
final class PatroxyProcess implements AutoCloseable {

    static final Path JAR = Path.of("target/quarkus-app/quarkus-run.jar").toAbsolutePath();

    final String host;
    final int port;
    final int statsPort;
    final Path log;
    private final Process process;

    PatroxyProcess(int port, int statsPort, Map<String, String> env) {
        this("127.0.0.1", port, statsPort, env);
    }

    /** Listening (and its stats) on {@code host}: a test's own loopback address keeps it apart from other runs. */
    PatroxyProcess(String host, int port, int statsPort, Map<String, String> env) {
        this(host, port, statsPort, env, List.of());
    }

    /** @param launcher a command that runs the JVM (e.g. {@code setpriv --regid=N --clear-groups}), or none */
    PatroxyProcess(String host, int port, int statsPort, Map<String, String> env, List<String> launcher) {
        this.host = host;
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException("missing " + JAR + ": the real-cluster tests run after './mvnw package'");
        }
        this.port = port;
        this.statsPort = statsPort;
        this.log = Path.of("target", "patroxy-it-" + port + ".log").toAbsolutePath();
        List<String> command = new java.util.ArrayList<>(launcher);
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-jar", JAR.toString()));
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("PATROXY_LISTEN_HOST", host);
        pb.environment().put("PATROXY_LISTEN_PORT", String.valueOf(port));
        pb.environment().put("PATROXY_STATS_HOST", host);
        pb.environment().put("PATROXY_STATS_PORT", String.valueOf(statsPort));
        pb.environment().put("PATROXY_MEMBERS", LocalCluster.membersSpec(2));
        pb.environment().putAll(env);
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + JAR, e);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
        Awaitility.await("Patroxy listening on " + host + ":" + port).atMost(Duration.ofSeconds(120)) // a loaded 2-core machine: 53 s seen
                .pollInterval(Duration.ofMillis(200)).until(() -> {
                    if (!process.isAlive()) {
                        throw new IllegalStateException("Patroxy exited with " + process.exitValue() + ", see " + log);
                    }
                    try (Socket s = new Socket(host, statsPort)) {
                        return true;
                    } catch (IOException notYet) {
                        return false;
                    }
                });
    }

    String jdbcUrl() {
        return "jdbc:postgresql://" + host + ":" + port + "/postgres";
    }

    /** The stats CSV ({@code /;csv}), HAProxy's format. */
    String statsCsvUrl() {
        return "http://" + host + ":" + statsPort + "/;csv";
    }

    long pid() {
        return process.pid(); // the JVM's own: a launcher such as setpriv execs it
    }

    String logText() throws IOException {
        return Files.readString(log);
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** SIGTERM, as an orchestrator stops it; returns the exit code. */
    int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(40, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new IllegalStateException("Patroxy did not stop within 40 s of SIGTERM");
        }
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            stop();
        }
    }
}
