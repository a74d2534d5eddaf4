package io.patroxy.cluster;

import java.util.Locale;
import java.util.Optional;

/**
 * What an operator said about one member on one listener (HAProxy's {@code set server state}):
 * an input to the {@link LeaderSelector}, {@link Routing} and {@link DropPolicy}, never a special
 * case in the data path. It only ever takes routing away: a member the checks would not route to
 * never gets sessions because of it.
 */
public enum AdminState {
    /** As the checks say (the default). */
    READY,
    /** No new sessions; the open ones stay, checks go on. Shown DRAIN while the member is UP. */
    DRAIN,
    /**
     * No new sessions, the open ones are dropped as on mark-down (unless the listener says
     * {@code drop=off}), checks paused; shown MAINT. Leaving it, the member is DOWN and must pass
     * {@code rise} checks again (its state from before the pause is stale).
     */
    MAINT;

    /** Whether new sessions may go to a member in this state (if its checks allow). */
    public boolean takesNewSessions() {
        return this == READY;
    }

    /** {@code ready}, {@code drain}, {@code maint}: as the admin API and the JSON say it. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** From {@code ready}, {@code drain} or {@code maint} (any case); empty for anything else. */
    public static Optional<AdminState> parse(String s) {
        if (s == null) {
            return Optional.empty();
        }
        for (AdminState a : values()) {
            if (a.label().equalsIgnoreCase(s.trim())) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }
}
