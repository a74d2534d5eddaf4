package io.patroxy.stats;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** Durations as HAProxy's stats page writes them ("0s", "42s", "3m12s", "2h05m", "4d3h"). */
final class Formats {

    private Formats() {
    }

    static String duration(long seconds) {
        if (seconds < 0) {
            return "-";
        }
        if (seconds < 60) {
            return seconds + "s";
        }
        if (seconds < 3600) {
            return seconds / 60 + "m" + pad(seconds % 60) + "s";
        }
        if (seconds < 86400) {
            return seconds / 3600 + "h" + pad(seconds % 3600 / 60) + "m";
        }
        return seconds / 86400 + "d" + seconds % 86400 / 3600 + "h";
    }

    /** Sub-second precision for short times: "850ms", "3.2s", then as {@link #duration}. */
    static String millis(long millis) {
        if (millis < 1000) {
            return millis + "ms";
        }
        if (millis < 10_000) {
            return String.format(java.util.Locale.ROOT, "%.1fs", millis / 1000.0);
        }
        return duration(millis / 1000);
    }

    static String instant(Instant at) {
        return at == null ? "" : at.truncatedTo(ChronoUnit.SECONDS).toString();
    }

    private static String pad(long n) {
        return n < 10 ? "0" + n : Long.toString(n);
    }
}
