package io.patroxy.stats;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Looks at a page as a person would: Debian's {@code chromium}, headless, dumps the DOM after the
 * page loaded and takes a screenshot. Each run has a fresh profile under {@code target/} and is
 * bounded in time; a missing browser is an error, never a skip ({@code apt-get install -y chromium};
 * scripts/test.sh installs it). Also for the real-cluster tests: {@code new StatsPageBrowser(dir).open(url)}.
 */
public final class StatsPageBrowser {

    /** What the browser saw: the DOM after load, and where the screenshot is. */
    public record Page(String dom, Path screenshot) {
    }

    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private final Path workDir;
    private final Duration timeout;
    private int runs;

    /** @param workDir where profiles, screenshots and logs go, e.g. {@code target/stats-browser} */
    public StatsPageBrowser(Path workDir, Duration timeout) {
        this.workDir = workDir;
        this.timeout = timeout;
    }

    public StatsPageBrowser(Path workDir) {
        this(workDir, DEFAULT_TIMEOUT);
    }

    /** The chromium binary: {@code $CHROMIUM}, else Debian's {@code /usr/bin/chromium}; fails loudly when absent. */
    public static Path chromium() {
        String configured = System.getenv("CHROMIUM");
        Path binary = Path.of(configured != null && !configured.isBlank() ? configured : "/usr/bin/chromium");
        if (!Files.isExecutable(binary)) {
            throw new IllegalStateException(binary + " not found: the stats page's browser test needs Debian's chromium "
                    + "(apt-get install -y chromium; scripts/test.sh installs it)");
        }
        return binary;
    }

    /** Loads {@code url} twice (DOM, then screenshot named {@code name}.png), each run bounded by the timeout. */
    public Page open(String url, String name) throws IOException, InterruptedException {
        Files.createDirectories(workDir);
        Path screenshot = workDir.resolve(name + ".png").toAbsolutePath();
        Files.deleteIfExists(screenshot);
        String dom = run(url, List.of("--dump-dom"), name + "-dom");
        run(url, List.of("--screenshot=" + screenshot, "--window-size=1600,1000", "--hide-scrollbars"), name + "-shot");
        if (!Files.isRegularFile(screenshot) || Files.size(screenshot) == 0) {
            throw new IllegalStateException("chromium wrote no screenshot at " + screenshot + "; see " + workDir);
        }
        return new Page(dom, screenshot);
    }

    private synchronized String run(String url, List<String> extra, String label) throws IOException, InterruptedException {
        Path profile = Files.createDirectories(workDir.resolve("profile-" + ProcessHandle.current().pid() + "-" + (++runs)));
        Path stdout = workDir.resolve(label + ".out");
        Path stderr = workDir.resolve(label + ".err");
        List<String> command = new ArrayList<>(List.of(chromium().toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--disable-dev-shm-usage", "--user-data-dir=" + profile.toAbsolutePath()));
        command.addAll(extra);
        command.add(url);
        Process p = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new IllegalStateException("chromium did not finish within " + timeout + " on " + url + "; see " + stderr);
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException("chromium exited with " + p.exitValue() + " on " + url + ": "
                    + tail(Files.readString(stderr, StandardCharsets.UTF_8)));
        }
        return Files.readString(stdout, StandardCharsets.UTF_8);
    }

    private static String tail(String text) {
        return text.length() <= 2000 ? text : text.substring(text.length() - 2000);
    }
}
