package io.patroxy.stats;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Everything the stats page, its CSV and its JSON show, taken at one instant: immutable, built by
 * {@link StatsSnapshots#capture}. Durations are whole seconds (or milliseconds where the name says
 * so) so that the JSON is plain numbers; the {@code ...Text()} methods are for the HTML page only.
 */
public record StatsSnapshot(String proxy, String version, long pid, Instant now, Instant started, long uptimeSeconds,
        Frontend frontend, Backend backend, List<Server> servers, Leadership leadership) {

    public StatsSnapshot {
        servers = List.copyOf(servers);
    }

    public String uptimeText() {
        return Formats.duration(uptimeSeconds);
    }

    public String nowText() {
        return Formats.instant(now);
    }

    public String startedText() {
        return Formats.instant(started);
    }

    /** The listener, HAProxy's FRONTEND row. */
    public record Frontend(int current, int max, int limit, long total, long refused, long held, long clientToServerBytes,
            long serverToClientBytes, Map<String, Long> closes) {
    }

    /** All members together, HAProxy's BACKEND row: UP while a leader is known. */
    public record Backend(boolean up, int upMembers, long current, long total, long clientToServerBytes,
            long serverToClientBytes, long connectErrors, long downTransitions, long lastChangeSeconds,
            long downtimeSeconds) {

        public String status() {
            return up ? "UP" : "DOWN";
        }
    }

    /**
     * One member.
     *
     * @param status HAProxy's display of the fall/rise state: "UP", "UP 2/3", "DOWN 1/2", "DOWN", "NO CHECK"
     * @param role   what Patroni's JSON said in the last check ("primary", "replica", ...)
     */
    public record Server(int id, String name, String address, String status, boolean up, boolean leader,
            String role, long timeline, Check check, long checkFailures, long downTransitions, long upTransitions,
            Instant lastChange, long lastChangeSeconds, long downtimeSeconds, int rise, int fall, int health,
            int current, int max, long total, long clientToServerBytes, long serverToClientBytes,
            long connectErrors) {

        /** leader / sync replica / replica, as Patroni reports it. */
        public String roleText() {
            return switch (role) {
                case "primary" -> "leader";
                case "sync_standby" -> "sync replica";
                case "standby_leader" -> "standby leader";
                case "unknown" -> "-";
                default -> role.replace('_', ' ');
            };
        }

        public String lastChangeText() {
            return Formats.duration(lastChangeSeconds);
        }

        public String downtimeText() {
            return Formats.duration(downtimeSeconds);
        }

        /** For the page's colours: up, going-down, going-up, down, nocheck. */
        public String statusClass() {
            if (status.startsWith("UP ")) {
                return "going-down";
            }
            if (status.startsWith("DOWN ")) {
                return "going-up";
            }
            return switch (status) {
                case "UP" -> "up";
                case "DOWN" -> "down";
                default -> "nocheck";
            };
        }
    }

    /**
     * The member's last health check.
     *
     * @param status HAProxy's {@code check_status}: L7OK, L7STS, L4CON, L4TOUT, L7TOUT, L7RSP, SOCKERR
     * @param code   the HTTP status, -1 when none was received
     * @param detail the layer-4 reason, or "HTTP 503"
     */
    public record Check(String status, String description, int code, String detail, long durationMillis,
            Instant at, long ageSeconds) {

        public String ageText() {
            return Formats.duration(ageSeconds);
        }

        /** The HTTP code, or the layer-4 reason when there was no HTTP answer. */
        public String codeOrReason() {
            return code >= 0 ? Integer.toString(code) : detail;
        }
    }

    /** The leader and its history, newest change first. */
    public record Leadership(String leader, long timeline, boolean contested, Instant leaderlessSince,
            long leaderlessSeconds, long elections, long losses, List<LeaderChange> changes) {

        public Leadership {
            changes = List.copyOf(changes);
        }

        public String leaderlessText() {
            return Formats.duration(leaderlessSeconds);
        }

        public String leaderlessSinceText() {
            return Formats.instant(leaderlessSince);
        }
    }

    /**
     * @param from                  null when the cluster had no leader before
     * @param to                    null when it has none after
     * @param withoutLeaderMillis   for a new leader after a time without one: how long that was
     */
    public record LeaderChange(Instant at, String from, String to, long timeline, Long withoutLeaderMillis) {

        public String atText() {
            return Formats.instant(at);
        }

        public String fromText() {
            return from == null ? "NONE" : from;
        }

        public String toText() {
            return to == null ? "NONE" : to;
        }

        public String withoutLeaderText() {
            return withoutLeaderMillis == null ? "" : Formats.millis(withoutLeaderMillis);
        }
    }
}
