package io.patroxy.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What a listener routes to: a Patroni REST API endpoint that answers 200 on the members that
 * qualify (Patroni's docs, "Health check endpoints"). The first two are <em>leader roles</em>: one
 * member at a time, with the split-brain guard; the others are <em>balanced</em>: several members
 * passing at once is normal, and sessions are spread over them.
 */
public enum Role {
    PRIMARY("primary", "/primary", true),
    /** The primary or, in a standby cluster, the standby leader. */
    LEADER("leader", "/leader", true),
    REPLICA("replica", "/replica", false),
    /** Replicas and the primary. */
    READ_ONLY("read-only", "/read-only", false),
    SYNC("sync", "/sync", false),
    ASYNC("async", "/async", false),
    /** Any running member ({@code /health}). */
    ANY("any", "/health", false);

    private final String label;
    private final String path;
    private final boolean leaderRole;

    Role(String label, String path, boolean leaderRole) {
        this.label = label;
        this.path = path;
        this.leaderRole = leaderRole;
    }

    public String label() {
        return label;
    }

    /** The REST API path checked for this role. */
    public String path() {
        return path;
    }

    /** One member at a time, with the split-brain guard. */
    public boolean leaderRole() {
        return leaderRole;
    }

    public static Role parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        for (Role r : values()) {
            if (r.label.equals(t)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown role '" + text + "'; one of "
                + Arrays.stream(values()).map(Role::label).collect(Collectors.joining(", ")));
    }
}
