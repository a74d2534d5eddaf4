package io.patroxy.it;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A client without a pool, on its own thread: every {@code period} one new session (at a fixed
 * rate: a slow attempt — a held one — is followed at once by the next, never run beside it), and
 * what it got: the member and TLS state the server reported, or the failure.
 */
final class NewSessionLoop implements AutoCloseable {

    record Attempt(double atSeconds, double tookSeconds, TlsClients.Served served, String failure) {
    }

    final String name;
    private final Callable<TlsClients.Served> session;
    private final long startNanos;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor();
    final List<Attempt> attempts = new CopyOnWriteArrayList<>();

    /** @param startNanos {@link System#nanoTime()} that attempt times count from (loops compared share it) */
    NewSessionLoop(String name, long startNanos, Duration period, Callable<TlsClients.Served> session) {
        this.name = name;
        this.startNanos = startNanos;
        this.session = session;
        thread.scheduleAtFixedRate(this::once, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void once() {
        double at = now();
        long t0 = System.nanoTime();
        try {
            TlsClients.Served s = session.call();
            attempts.add(new Attempt(at, (System.nanoTime() - t0) / 1e9, s, null));
        } catch (Exception | AssertionError e) { // a scheduled task that throws is never run again
            attempts.add(new Attempt(at, (System.nanoTime() - t0) / 1e9, null, e.getMessage()));
        }
    }

    double now() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    List<Attempt> failures() {
        return attempts.stream().filter(a -> a.failure() != null).toList();
    }

    List<Attempt> served() {
        return attempts.stream().filter(a -> a.served() != null).toList();
    }

    /** Sessions that started at or after {@code sinceSeconds} and reached {@code address}. */
    long servedBy(String address, double sinceSeconds) {
        return served().stream().filter(a -> a.atSeconds() >= sinceSeconds && a.served().address().equals(address)).count();
    }

    Map<String, Long> perAddress() {
        return served().stream().collect(Collectors.groupingBy(a -> a.served().address(), TreeMap::new, Collectors.counting()));
    }

    double longestSeconds() {
        return attempts.stream().mapToDouble(Attempt::tookSeconds).max().orElse(0);
    }

    String summary() {
        return String.format("%s: %d attempts, %d failed, sessions per member %s, longest attempt %.1f s", name, attempts.size(),
                failures().size(), perAddress(), longestSeconds());
    }

    /** Lets the attempt in flight end (its timeouts bound it), then stops. */
    @Override
    public void close() throws InterruptedException {
        thread.shutdown();
        if (!thread.awaitTermination(60, TimeUnit.SECONDS)) {
            thread.shutdownNow();
        }
    }
}
