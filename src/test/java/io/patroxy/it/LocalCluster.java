package io.patroxy.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import org.awaitility.Awaitility;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The real local cluster (ZooKeeper 3.8 + PostgreSQL 15 + Patroni from Debian's packages: 3.0.2,
 * or 4.0.x with {@code -Dpatroxy.it.patroni=4}). What the tests do to it goes through the
 * project's own {@code patroni/local-cluster.sh}; what they read of it (the leader, a member's
 * role, state and timeline, an endpoint's status) comes straight from Patroni's REST API. Faster
 * Patroni timings than the shipped ones (ttl 10 — Patroni 4 takes no less than 20 —, loop_wait 2,
 * retry_timeout 4) keep the suite short.
 */
final class LocalCluster implements AutoCloseable {

    static final Path SCRIPT = Path.of("patroni/local-cluster.sh").toAbsolutePath();
    /** {@code -Dpatroxy.it.cluster-dir} and {@code -Dpatroxy.it.addr-base} run a second test cluster beside one already running. */
    static final String DIR = System.getProperty("patroxy.it.cluster-dir", "/tmp/patroxy-it-cluster");
    /** Node i at 127.0.0.(ADDR_BASE + i); ZooKeeper and HAProxy at 127.0.0.(ADDR_BASE - 1). */
    static final int ADDR_BASE = Integer.getInteger("patroxy.it.addr-base", 2);
    static final int API_PORT = 8008;
    /** Which Patroni runs the nodes: "3" (Debian 12's 3.0.2) or "4" (Debian 13's 4.0.x). */
    static final String PATRONI_MAJOR = System.getProperty("patroxy.it.patroni", "3");

    /** Patroni's ttl on this cluster: how long a leader key outlives its holder's silence. */
    static final Duration TTL = Duration.ofSeconds("4".equals(PATRONI_MAJOR) ? 20 : 10);

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, String> env;
    private int nodes;

    /** A cluster without TLS. */
    LocalCluster() {
        this(false);
    }

    /**
     * @param ssl a TLS cluster ({@code CLUSTER_SSL=1}): a test CA and a certificate per node under
     *            {@code DIR/tls}, {@code ssl = on}, pg_hba {@code hostssl} only over TCP
     */
    LocalCluster(boolean ssl) {
        env = Map.of(
            "PATROXY_CLUSTER_DIR", DIR,
            "CLUSTER_SSL", ssl ? "1" : "0",
            "CLUSTER_ADDR_BASE", String.valueOf(ADDR_BASE),
            "PATRONI_MAJOR", PATRONI_MAJOR,
            "CLUSTER_TTL", String.valueOf(TTL.toSeconds()),
            "CLUSTER_LOOP_WAIT", "2",
            "CLUSTER_RETRY_TIMEOUT", "4",
            "HAPROXY_PORT", "5433",
            "HAPROXY_REPLICAS_PORT", "5434", // Patroni's two-listener template: listen replicas (/replica)
            "HAPROXY_STATS_PORT", "7001");
    }

    /** What a member's Patroni says of itself ({@code GET /patroni}). */
    record MemberStatus(String role, String state, String replicationState, long timeline) {

        /** Patroni 3 says "master", Patroni 4 "primary". */
        boolean primary() {
            return "master".equals(role) || "primary".equals(role);
        }

        /** A replica whose PostgreSQL runs (Patroni 4 adds "streaming" in replication_state). */
        boolean runningReplica() {
            return "replica".equals(role) && "running".equals(state);
        }
    }

    LocalCluster up(int nodes) {
        if (!Files.isExecutable(SCRIPT)) {
            throw new IllegalStateException("missing " + SCRIPT + ": run the tests from the project root");
        }
        run(Duration.ofMinutes(6), "up", String.valueOf(nodes)); // installs what is missing first
        this.nodes = nodes;
        return this;
    }

    /** A new member joins the running cluster as a replica; returns its name once the cluster is healthy. */
    String addNode() {
        String name = run(Duration.ofMinutes(4), "add-node").trim();
        nodes++;
        return name;
    }

    List<String> members() {
        return IntStream.range(0, nodes).mapToObj(i -> "postgresql" + i).toList();
    }

    /** ZooKeeper's and HAProxy's address, 127.0.0.(ADDR_BASE - 1): a process of the tests beside the cluster binds there too. */
    static String besideAddress() {
        return "127.0.0." + (ADDR_BASE - 1);
    }

    /** {@code PATROXY_MEMBERS} naming the first {@code n} members. */
    static String membersSpec(int n) {
        return IntStream.range(0, n).mapToObj(i -> "postgresql" + i + "=" + address("postgresql" + i) + ":5432:" + API_PORT)
                .collect(java.util.stream.Collectors.joining(","));
    }

    /** A TLS cluster's test CA (PEM), which signed every node's certificate. */
    static Path caFile() {
        return Path.of(DIR, "tls", "ca.crt");
    }

    /** A certificate and key (PEM) from the TLS cluster's CA with these addresses as SAN: {@code [cert, key]}. */
    Path[] issueCertificate(String name, String... addresses) {
        List<String> args = new ArrayList<>(List.of("cert", name));
        args.addAll(List.of(addresses));
        List<String> paths = run(Duration.ofSeconds(30), args.toArray(String[]::new)).lines().toList();
        return new Path[] {Path.of(paths.get(0)), Path.of(paths.get(1))};
    }

    static String address(String member) {
        return "127.0.0." + (ADDR_BASE + Integer.parseInt(member.replace("postgresql", "")));
    }

    // ------------------------------------------------------------------ read: Patroni's REST API

    /** The member holding the leader key, as the first member answering {@code /cluster} says (waits up to 30 s for one). */
    String leader() {
        return Awaitility.await("a leader in /cluster").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(this::leaderInClusterView, Optional::isPresent).orElseThrow();
    }

    private Optional<String> leaderInClusterView() {
        for (String member : members()) {
            Optional<JsonNode> cluster = getJson(member, "/cluster");
            if (cluster.isPresent()) {
                for (JsonNode m : cluster.get().path("members")) {
                    String role = m.path("role").asText();
                    if (role.equals("leader") || role.equals("primary") || role.equals("master")) {
                        return Optional.of(m.path("name").asText());
                    }
                }
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    /** Waits until some member other than {@code not} answers /primary 200; returns it. */
    String waitLeaderOtherThan(String not, Duration max) {
        return Awaitility.await("a member other than " + not + " answering /primary 200").atMost(max)
                .pollInterval(Duration.ofMillis(200))
                .until(() -> members().stream().filter(m -> !m.equals(not) && http(m, "/primary") == 200).findFirst(),
                        Optional::isPresent)
                .orElseThrow();
    }

    /** The member's own view ({@code /patroni}); fails when its REST API does not answer. */
    MemberStatus member(String member) {
        JsonNode p = getJson(member, "/patroni")
                .orElseThrow(() -> new IllegalStateException(member + ": no answer from " + url(member, "/patroni")));
        return new MemberStatus(p.path("role").asText(), p.path("state").asText(), p.path("replication_state").asText(null),
                p.path("timeline").asLong(-1));
    }

    /** The version the leader's Patroni reports ({@code /patroni}: "3.0.2", "4.0.7"). */
    String patroniVersion() {
        return getJson(leader(), "/patroni").map(p -> p.path("patroni").path("version").asText()).orElse("?");
    }

    long timeline(String member) {
        long timeline = member(member).timeline();
        if (timeline < 0) {
            throw new IllegalStateException(member + ": /patroni names no timeline");
        }
        return timeline;
    }

    /** HTTP status of GET {@code path} on the member's REST API; -1 when it does not answer within 3 s. */
    static int http(String member, String path) {
        try {
            return HTTP.send(request(member, path), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static Optional<JsonNode> getJson(String member, String path) {
        try {
            HttpResponse<String> r = HTTP.send(request(member, path), HttpResponse.BodyHandlers.ofString());
            return r.body().isBlank() ? Optional.empty() : Optional.of(JSON.readTree(r.body()));
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static HttpRequest request(String member, String path) {
        return HttpRequest.newBuilder(URI.create(url(member, path))).timeout(Duration.ofSeconds(3)).build();
    }

    private static String url(String member, String path) {
        return "http://" + address(member) + ":" + API_PORT + path;
    }

    // ------------------------------------------------------------------ act: local-cluster.sh

    /** Waits until there is a leader, all running replicas stream and one is sync standby. */
    void waitHealthy() {
        run(Duration.ofMinutes(3), "wait", "150");
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

    /** SIGKILL of the member's Patroni alone: its PostgreSQL goes on running, unmanaged. */
    void killPatroni(String member) {
        run(Duration.ofSeconds(30), "kill-patroni", member);
    }

    /** Patroni again beside the PostgreSQL {@link #killPatroni} left running (it adopts it). */
    void startPatroni(String member) {
        run(Duration.ofMinutes(3), "start-patroni", member);
    }

    /** Clones a member that does not come back by itself again from the leader (patronictl reinit). */
    void reinit(String member) {
        run(Duration.ofMinutes(5), "reinit", member);
    }

    void stopZookeeper() {
        run(Duration.ofSeconds(40), "stop-zk");
    }

    void startZookeeper() {
        run(Duration.ofSeconds(40), "start-zk");
    }

    /** A partition: packets that sockets of group {@code gid} send to the member's PostgreSQL and REST API are dropped. */
    void block(String member, int gid) {
        run(Duration.ofMinutes(2), "block", member, String.valueOf(gid)); // may install nftables first
    }

    void unblock() {
        run(Duration.ofSeconds(30), "unblock");
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

    /** SIGCONT of ZooKeeper; returns once it answers. */
    void thawZookeeper() {
        run(Duration.ofSeconds(40), "thaw-zk");
    }

    /** Ends Patroni's maintenance mode. */
    void resume() {
        run(Duration.ofMinutes(1), "resume");
    }

    /** ZooKeeper's connect string. */
    static String zookeeper() {
        return besideAddress() + ":2181";
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

    /**
     * A test class's teardown: closes {@code first} in order (what is null was never started), then
     * the cluster, whatever failed before.
     */
    static void stopAll(LocalCluster cluster, AutoCloseable... first) throws Exception {
        try {
            for (AutoCloseable c : first) {
                if (c != null) {
                    c.close();
                }
            }
        } finally {
            if (cluster != null) {
                cluster.close();
            }
        }
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
