package io.patroxy.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What one fault cycle looks like from outside, sampled on its own threads from before the fault
 * until the cluster is healthy again: each member's {@code /primary} (every 100 ms), how
 * Patroxy's stats CSV shows the member that was the leader (status and {@code scur}, its sessions
 * there, every 250 ms), and every 500 ms: Patroxy's ESTABLISHED connections to that member's
 * PostgreSQL as the kernel shows them ({@link PatroxySockets}), and the client sessions
 * ({@code application_name} of {@link Writer}) the member's PostgreSQL itself has
 * ({@code pg_stat_activity}, when it answers) — relayed (their client port is one of Patroxy's
 * open connections) or orphaned (Patroxy closed it, PostgreSQL has not noticed yet: a thawed
 * backend that goes on with the query it had read, or one whose FIN a partition dropped).
 */
final class CycleWatch implements AutoCloseable {

    /** Patroxy's view of the old leader. */
    record PatroxySample(long atNanos, String status, int sessions) {
    }

    /**
     * @param connections Patroxy's ESTABLISHED connections to the member's PostgreSQL
     * @param relayed client sessions in the member's pg_stat_activity on one of those connections; -1: it did not answer
     * @param orphans client sessions there on a connection Patroxy no longer holds; -1: it did not answer
     */
    record BackendSample(long atNanos, int connections, int relayed, int orphans) {
    }

    record PrimarySample(long atNanos, boolean is200) {
    }

    static final String CHECK_APPLICATION = "fault-loop-check";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final URI statsCsv;
    private final String old;
    private final long patroxyPid;
    private final ScheduledExecutorService threads;
    final List<PatroxySample> patroxy = new CopyOnWriteArrayList<>();
    final List<BackendSample> backends = new CopyOnWriteArrayList<>();
    final Map<String, List<PrimarySample>> primary = new ConcurrentHashMap<>();

    CycleWatch(String statsCsv, long patroxyPid, String old, List<String> members) {
        this.statsCsv = URI.create(statsCsv);
        this.patroxyPid = patroxyPid;
        this.old = old;
        this.threads = Executors.newScheduledThreadPool(2 + members.size());
        // with a fixed delay: a sample that waits on a hung member is followed by the next, never run beside it
        threads.scheduleWithFixedDelay(this::samplePatroxy, 0, 250, TimeUnit.MILLISECONDS);
        threads.scheduleWithFixedDelay(this::sampleBackends, 0, 500, TimeUnit.MILLISECONDS);
        for (String m : members) {
            List<PrimarySample> samples = new CopyOnWriteArrayList<>();
            primary.put(m, samples);
            threads.scheduleWithFixedDelay(() -> samples.add(new PrimarySample(System.nanoTime(), LocalCluster.http(m, "/primary") == 200)),
                    0, 100, TimeUnit.MILLISECONDS);
        }
    }

    private void samplePatroxy() {
        try {
            String csv = csv();
            patroxy.add(new PatroxySample(System.nanoTime(), SessionSampler.csvCell(csv, old, "status"),
                    Integer.parseInt(SessionSampler.csvCell(csv, old, "scur"))));
        } catch (Exception e) { // a scheduled task that throws is never run again; a miss is just a missing sample
            patroxy.add(new PatroxySample(System.nanoTime(), "(stats: " + e.getClass().getSimpleName() + ")", 0));
        }
    }

    String csv() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(statsCsv).timeout(Duration.ofSeconds(2)).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.body();
    }

    private void sampleBackends() {
        long at = System.nanoTime();
        List<Integer> clientPorts = clientBackendPorts(old);
        Set<Integer> open = PatroxySockets.established(patroxyPid, LocalCluster.address(old), 5432);
        int relayed = clientPorts == null ? -1 : (int) clientPorts.stream().filter(open::contains).count();
        backends.add(new BackendSample(at, open.size(), relayed, clientPorts == null ? -1 : clientPorts.size() - relayed));
    }

    /** The client ports of the client sessions ({@link Writer}'s application_name) the member's PostgreSQL has; null when it does not answer. */
    static List<Integer> clientBackendPorts(String member) {
        try (Connection c = DriverManager.getConnection(directUrl(member), checkProps()); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT client_port FROM pg_stat_activity WHERE application_name = '"
                        + Writer.props().getProperty("ApplicationName") + "'")) {
            List<Integer> ports = new ArrayList<>();
            while (rs.next()) {
                ports.add(rs.getInt(1));
            }
            return ports;
        } catch (SQLException | RuntimeException e) {
            return null;
        }
    }

    static String directUrl(String member) {
        return "jdbc:postgresql://" + LocalCluster.address(member) + ":5432/postgres";
    }

    /** The test's own look at a member, never through Patroxy, short timeouts (a member may hang). */
    static Properties checkProps() {
        Properties p = Writer.props();
        p.setProperty("ApplicationName", CHECK_APPLICATION);
        p.setProperty("connectTimeout", "2");
        p.setProperty("loginTimeout", "3");
        p.setProperty("socketTimeout", "10");
        return p;
    }

    /** The first time at or after {@code from} the member answered /primary 200. */
    OptionalLong first200(String member, long from) {
        return primary.get(member).stream().filter(s -> s.atNanos() >= from && s.is200()).mapToLong(PrimarySample::atNanos).findFirst();
    }

    /** The first time at or after {@code from} the member did not answer /primary 200. */
    OptionalLong firstNot200(String member, long from) {
        return primary.get(member).stream().filter(s -> s.atNanos() >= from && !s.is200()).mapToLong(PrimarySample::atNanos).findFirst();
    }

    /** The last sample in [from, to) in which Patroxy had sessions on the old leader. */
    OptionalLong patroxySessionsLastSeen(long from, long to) {
        return patroxy.stream().filter(s -> s.atNanos() >= from && s.atNanos() < to && s.sessions() > 0)
                .mapToLong(PatroxySample::atNanos).max();
    }

    /** The last sample in [from, to) in which the kernel showed Patroxy connected to the old leader's PostgreSQL. */
    OptionalLong connectionsLastSeen(long from, long to) {
        return lastSeen(from, to, s -> s.connections() > 0);
    }

    /** The last sample in [from, to) in which the old leader's PostgreSQL had a client session relayed by Patroxy. */
    OptionalLong relayedLastSeen(long from, long to) {
        return lastSeen(from, to, s -> s.relayed() > 0);
    }

    /** The last sample in [from, to) in which the old leader's PostgreSQL had a client session Patroxy had already closed. */
    OptionalLong orphansLastSeen(long from, long to) {
        return lastSeen(from, to, s -> s.orphans() > 0);
    }

    private OptionalLong lastSeen(long from, long to, java.util.function.Predicate<BackendSample> seen) {
        return backends.stream().filter(s -> s.atNanos() >= from && s.atNanos() < to && seen.test(s))
                .mapToLong(BackendSample::atNanos).max();
    }

    /** How Patroxy showed the old leader each time it changed, times in seconds since {@code zero}: {@code UP@-1.0 -> UP 1/3@4.2 -> DOWN@9.8}. */
    String statusChanges(long zero) {
        StringBuilder out = new StringBuilder();
        String last = null;
        for (PatroxySample s : patroxy) {
            if (!s.status().equals(last)) {
                out.append(last == null ? "" : " -> ").append(s.status()).append(String.format("@%.1f", (s.atNanos() - zero) / 1e9));
                last = s.status();
            }
        }
        return out.toString();
    }

    @Override
    public void close() throws InterruptedException {
        threads.shutdown();
        if (!threads.awaitTermination(15, TimeUnit.SECONDS)) {
            threads.shutdownNow();
        }
    }
}
