package io.patroxy.stats;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Everything the stats page, its CSV and its JSON show, taken at one instant: immutable, built by
 * {@link StatsSnapshots#capture}. One {@link Listener} section per listener, in configuration
 * order, like HAProxy's proxies. Durations are whole seconds (or milliseconds where the name says
 * so) so that the JSON is plain numbers; the {@code ...Text()} methods are for the HTML page only.
 *
 * <p>The JSON keeps the shape it had with one listener: {@code proxy}, {@code frontend},
 * {@code backend}, {@code servers} and {@code leadership} at the top are the first listener's;
 * {@code listeners} has every listener ({@link StatsJson} writes it).
 */
public record StatsSnapshot(String version, long pid, Instant now, Instant started, long uptimeSeconds,
        List<Listener> listeners) {

    public StatsSnapshot {
        if (listeners.isEmpty()) {
            throw new IllegalArgumentException("no listener");
        }
        listeners = List.copyOf(listeners);
    }

    /** The first listener's name (the only one's without {@code patroxy.listeners}). */
    public String proxy() {
        return listeners.get(0).name();
    }

    public Frontend frontend() {
        return listeners.get(0).frontend();
    }

    public Backend backend() {
        return listeners.get(0).backend();
    }

    public List<Server> servers() {
        return listeners.get(0).servers();
    }

    /** The first listener's leader, null when it is a balanced listener. */
    public Leadership leadership() {
        return listeners.get(0).leadership();
    }

    /** For the page's title: the listeners' names. */
    public String title() {
        return String.join(", ", listeners.stream().map(Listener::name).toList());
    }

    /** Several listeners: the page prefixes its element ids with the listener's name. */
    public boolean several() {
        return listeners.size() > 1;
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

    /**
     * One listener, HAProxy's proxy of the same name: its FRONTEND, its members, its BACKEND.
     *
     * @param role       primary, leader, replica, read-only, sync, async or any
     * @param check      the Patroni REST API path its members are checked on
     * @param address    host:port as bound
     * @param routable   a client connecting now would be relayed (what readiness reports)
     * @param leadership the leader and its history; null for a balanced role, which has no leader
     */
    public record Listener(String name, String role, String check, String address, boolean leaderRole,
            boolean routable, Frontend frontend, Backend backend, List<Server> servers, Leadership leadership) {

        public Listener {
            servers = List.copyOf(servers);
        }

        /** For the page's element ids when there are several listeners: "replicas-". */
        public String idPrefix() {
            return name + "-";
        }
    }

    /** The listener, HAProxy's FRONTEND row. */
    public record Frontend(int current, int max, int limit, long total, long refused, long held, long clientToServerBytes,
            long serverToClientBytes, Map<String, Long> closes) {
    }

    /**
     * All members together, HAProxy's BACKEND row: UP while a leader is known (leader roles) or
     * any member is UP (balanced roles); {@code downTransitions} and {@code downtimeSeconds} count
     * the times and time it was DOWN.
     */
    public record Backend(boolean up, int upMembers, long current, long total, long clientToServerBytes,
            long serverToClientBytes, long connectErrors, long downTransitions, long lastChangeSeconds,
            long downtimeSeconds) {

        public String status() {
            return up ? "UP" : "DOWN";
        }

        public String downtimeText() {
            return Formats.duration(downtimeSeconds);
        }
    }

    /**
     * One member.
     *
     * @param status HAProxy's display of the fall/rise state: "UP", "UP 2/3", "DOWN 1/2", "DOWN", "NO CHECK";
     *               "DRAIN", "DRAIN 2/3" (UP, in drain), "MAINT" (the operator's word, as HAProxy shows it)
     * @param admin  what the operator said: ready, drain or maint (the admin API)
     * @param up     UP by its checks (in MAINT: as when its checks were paused)
     * @param role   what Patroni's JSON said in the last check ("primary", "replica", ...)
     */
    public record Server(int id, String name, String address, String status, String admin, boolean up, boolean leader,
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

        /** For the page's colours: up, going-down, going-up, down, nocheck, drain, maint. */
        public String statusClass() {
            if (status.startsWith("DRAIN")) {
                return "drain";
            }
            if (status.equals("MAINT")) {
                return "maint";
            }
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

    /**
     * The leader and its history, newest change first.
     *
     * @param withheld      the member the checks choose while an administrator holds it in DRAIN or MAINT (then
     *                      {@code leader} is null), else null
     * @param withheldState drain or maint, with {@code withheld}
     */
    public record Leadership(String leader, long timeline, boolean contested, Instant leaderlessSince,
            long leaderlessSeconds, long elections, long losses, List<LeaderChange> changes, String withheld,
            String withheldState) {

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
