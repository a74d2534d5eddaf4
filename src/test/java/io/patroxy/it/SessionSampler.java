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
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A client without a pool, on its own thread: every {@code period} it opens one new session
 * through the entry point and records where it landed ({@code inet_server_addr()}), or that it got
 * none in time (refused or held), and how Patroxy's stats CSV shows one member at that moment.
 * Sample times are seconds since the sampler started.
 */
final class SessionSampler implements AutoCloseable {

    /** @param address null when the client got no session (refused, held, cut off) */
    record Sample(double atSeconds, String address, String watchedStatus, String failure) {
    }

    private final String url;
    private final URI statsCsv;
    private final String watched;
    private final long startNanos = System.nanoTime();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ScheduledExecutorService client = Executors.newSingleThreadScheduledExecutor();
    final List<Sample> samples = new CopyOnWriteArrayList<>();

    SessionSampler(String url, String statsCsv, String watchedMember, Duration period) {
        this.url = url;
        this.statsCsv = URI.create(statsCsv);
        this.watched = watchedMember;
        // at a fixed rate: a slow sample is followed at once by the next, never run beside it
        client.scheduleAtFixedRate(this::sampleOnce, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    }

    double now() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private void sampleOnce() {
        double at = now();
        String address = null;
        String failure = null;
        try (Connection c = DriverManager.getConnection(url, props()); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT host(inet_server_addr())")) {
            rs.next();
            address = rs.getString(1);
        } catch (SQLException e) {
            failure = e.getSQLState() + " " + e.getMessage();
        } catch (RuntimeException e) { // a scheduled task that throws is never run again
            failure = e.toString();
        }
        samples.add(new Sample(at, address, watchedStatus(), failure));
    }

    /** A held client gives up after 3 s: the sampling pace is kept and the attempt counts as refused. */
    private static Properties props() {
        Properties p = Writer.props();
        p.setProperty("connectTimeout", "3");
        p.setProperty("loginTimeout", "3");
        p.setProperty("socketTimeout", "5");
        return p;
    }

    private String watchedStatus() {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(statsCsv).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return csvCell(r.body(), watched, "status");
        } catch (Exception e) {
            return "(stats: " + e.getClass().getSimpleName() + ")";
        }
    }

    /** A member's cell of Patroxy's stats CSV ({@code /;csv}), e.g. its {@code status} or {@code scur}; "(not listed)" when it has no row. */
    static String csvCell(String csv, String member, String column) {
        List<String> header = List.of(csv.lines().findFirst().orElseThrow().substring(2).split(","));
        int svname = header.indexOf("svname");
        int cell = header.indexOf(column);
        return csv.lines().skip(1).map(l -> l.split(",", -1)).filter(row -> row[svname].equals(member))
                .map(row -> row[cell]).findFirst().orElse("(not listed)");
    }

    List<Sample> between(double fromSeconds, double toSeconds) {
        return samples.stream().filter(s -> s.atSeconds() >= fromSeconds && s.atSeconds() < toSeconds).toList();
    }

    static Map<String, Long> sessionsPerAddress(List<Sample> samples) {
        return samples.stream().filter(s -> s.address() != null)
                .collect(Collectors.groupingBy(Sample::address, TreeMap::new, Collectors.counting()));
    }

    static long refused(List<Sample> samples) {
        return samples.stream().filter(s -> s.address() == null).count();
    }

    String lastWatchedStatus() {
        return samples.isEmpty() ? null : samples.get(samples.size() - 1).watchedStatus();
    }

    /** The watched member's status each time it changed, e.g. {@code UP@0.0s -> UP 2/3@5.3s -> UP@14.2s}. */
    String watchedStatusChanges() {
        StringBuilder out = new StringBuilder();
        String last = null;
        for (Sample s : samples) {
            if (!s.watchedStatus().equals(last)) {
                out.append(last == null ? "" : " -> ").append(s.watchedStatus()).append(String.format("@%.1fs", s.atSeconds()));
                last = s.watchedStatus();
            }
        }
        return out.toString();
    }

    /** Lets the sample in flight end (its timeouts bound it), then stops. */
    @Override
    public void close() throws InterruptedException {
        client.shutdown();
        if (!client.awaitTermination(15, TimeUnit.SECONDS)) {
            client.shutdownNow();
        }
    }
}
