package io.patroxy.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real local cluster (Patroni 3.0.2 + ZooKeeper 3.8 + PostgreSQL 15 from Debian's packages),
 * driven through the project's own {@code patroni/local-cluster.sh}. Faster Patroni timings than
 * the shipped ones (ttl 10, loop_wait 2, retry_timeout 4) keep the suite short.
 */
final class LocalCluster implements AutoCloseable {

    static final Path SCRIPT = Path.of("patroni/local-cluster.sh").toAbsolutePath();
    static final String DIR = "/tmp/patroxy-it-cluster";

    private final Map<String, String> env = Map.of(
            "PATROXY_CLUSTER_DIR", DIR,
            "CLUSTER_TTL", "10",
            "CLUSTER_LOOP_WAIT", "2",
            "CLUSTER_RETRY_TIMEOUT", "4",
            "HAPROXY_PORT", "5433",
            "HAPROXY_STATS_PORT", "7001");

    LocalCluster up(int nodes) {
        if (!Files.isExecutable(SCRIPT)) {
            throw new IllegalStateException("missing " + SCRIPT + ": run the tests from the project root");
        }
        run(Duration.ofMinutes(6), "up", String.valueOf(nodes)); // installs what is missing first
        return this;
    }

    String leader() {
        return run(Duration.ofSeconds(30), "leader").trim();
    }

    /** Waits until some member other than {@code not} answers /primary 200; returns it. */
    String waitLeaderOtherThan(String not, Duration max) {
        return run(max.plusSeconds(10), "wait-leader", "--not", not, String.valueOf(max.toSeconds())).trim();
    }

    /** Waits until there is a leader, all running replicas stream and one is sync standby. */
    void waitHealthy() {
        run(Duration.ofMinutes(3), "wait", "150");
    }

    static String address(String member) {
        return "127.0.0." + (2 + Integer.parseInt(member.replace("postgresql", "")));
    }

    void kill(String member) {
        run(Duration.ofMinutes(1), "kill", member);
    }

    void stop(String member) {
        run(Duration.ofMinutes(2), "stop", member);
    }

    void start(String member) {
        run(Duration.ofMinutes(3), "start", member);
    }

    void freeze(String member) {
        run(Duration.ofSeconds(30), "freeze", member);
    }

    void thaw(String member) {
        run(Duration.ofSeconds(30), "thaw", member);
    }

    /** SIGSTOP of the member's Patroni process alone: its REST API stops answering, its PostgreSQL keeps serving. */
    void freezePatroni(String member) {
        run(Duration.ofSeconds(30), "freeze-patroni", member);
    }

    void thawPatroni(String member) {
        run(Duration.ofSeconds(30), "thaw-patroni", member);
    }

    String switchover() {
        return run(Duration.ofMinutes(2), "switchover").trim();
    }

    /** Patroni maintenance mode: Patroni stops acting on the cluster. */
    void pause() {
        run(Duration.ofMinutes(1), "pause");
    }

    /** Promotes a replica by hand with pg_ctl, bypassing Patroni. */
    void promote(String member) {
        run(Duration.ofMinutes(1), "promote", member);
    }

    void freezeZookeeper() {
        run(Duration.ofSeconds(30), "freeze-zk");
    }

    long timeline(String member) {
        return Long.parseLong(run(Duration.ofSeconds(30), "timeline", member).trim());
    }

    /** Ends a split brain keeping {@code member}'s data: the other node is rewound onto it; waits until healthy. */
    void healSplit(String member) {
        run(Duration.ofMinutes(4), "heal-split", member);
    }

    void haproxyUp() {
        run(Duration.ofMinutes(1), "haproxy-up");
    }

    String status() {
        return run(Duration.ofSeconds(30), "status");
    }

    @Override
    public void close() {
        run(Duration.ofMinutes(3), "down");
    }

    private String run(Duration max, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(SCRIPT.toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(max.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("local-cluster.sh " + String.join(" ", args) + " took over " + max);
            }
            String text = new String(out);
            if (p.exitValue() != 0) {
                throw new IllegalStateException("local-cluster.sh " + String.join(" ", args) + " failed (exit "
                        + p.exitValue() + "): " + text);
            }
            return text;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + SCRIPT, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
