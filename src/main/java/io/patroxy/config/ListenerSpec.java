package io.patroxy.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One PostgreSQL listener as configured in {@code patroxy.listeners}:
 * {@code NAME=[HOST:]PORT:ROLE[?QUERY][;OPTION=VALUE...]}, e.g.
 * {@code replicas=5433:replica?lag=16MB;balance=roundrobin;fallback=on}. The query is passed to
 * Patroni's endpoint as it is. Options: {@code balance} ({@code leastconn}, the default, or
 * {@code roundrobin}; balanced roles only), {@code fallback} ({@code on}: a balanced listener
 * sends sessions to the primary while none of its members is UP, like HAProxy's {@code backup}
 * server; off by default), {@code drop} ({@code off}: a member marked DOWN keeps the sessions it
 * has; on by default), {@code maxconn}, {@code hold} (durations as {@code 500ms}, {@code 10s}).
 *
 * @param host     empty: {@code patroxy.listen.host}
 * @param query    without the '?', empty when none
 * @param maxconn  empty: {@code patroxy.maxconn}
 * @param hold     empty: {@code patroxy.hold.timeout}
 */
public record ListenerSpec(String name, Optional<String> host, int port, Role role, String query, Balance balance,
        boolean fallback, boolean dropOnDown, Optional<Integer> maxconn, Optional<Duration> hold) {

    public enum Balance { LEASTCONN, ROUNDROBIN }

    private static final Pattern SPEC = Pattern.compile(
            "(?<name>[A-Za-z0-9_.-]+)=(?:(?<host>[A-Za-z0-9_.-]+):)?(?<port>\\d+):(?<role>[a-z-]+)(?:\\?(?<query>[^;]*))?(?<opts>(?:;[^;]*)*)");

    /** The check path with its query: {@code /replica?lag=16MB}. */
    public String checkPath() {
        return role.path() + (query.isEmpty() ? "" : "?" + query);
    }

    /** Parses the whole list; names and ports must be unique. */
    public static List<ListenerSpec> parseList(String text) {
        List<ListenerSpec> specs = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Set<String> ports = new HashSet<>();
        for (String part : text.split(",")) {
            ListenerSpec s = parse(part);
            if (!names.add(s.name)) {
                throw new IllegalArgumentException("listener name '" + s.name + "' appears twice");
            }
            if (s.port != 0 && !ports.add(s.host.orElse("") + ":" + s.port)) { // 0: any free port, each its own
                throw new IllegalArgumentException("port " + s.port + " is used by two listeners");
            }
            specs.add(s);
        }
        return List.copyOf(specs);
    }

    public static ListenerSpec parse(String text) {
        String t = text.trim();
        Matcher m = SPEC.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + t + "': expected NAME=[HOST:]PORT:ROLE[?QUERY][;OPTION=VALUE...]"
                    + " (e.g. replicas=5433:replica?lag=16MB;balance=roundrobin)");
        }
        int port = Integer.parseInt(m.group("port"));
        if (port > 65535) {
            throw new IllegalArgumentException("'" + t + "': port " + port + " is not a TCP port");
        }
        Role role = Role.parse(m.group("role"));
        Balance balance = Balance.LEASTCONN;
        boolean fallback = false;
        boolean drop = true;
        Optional<Integer> maxconn = Optional.empty();
        Optional<Duration> hold = Optional.empty();
        for (String opt : m.group("opts").split(";")) {
            if (opt.isBlank()) {
                continue;
            }
            int eq = opt.indexOf('=');
            String key = eq < 0 ? opt.trim() : opt.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            String value = eq < 0 ? "" : opt.substring(eq + 1).trim().toLowerCase(Locale.ROOT);
            switch (key) {
                case "balance" -> balance = switch (value) {
                    case "leastconn" -> Balance.LEASTCONN;
                    case "roundrobin" -> Balance.ROUNDROBIN;
                    default -> throw bad(t, key, value, "leastconn or roundrobin");
                };
                case "fallback" -> fallback = onOff(t, key, value);
                case "drop" -> drop = onOff(t, key, value);
                case "maxconn" -> maxconn = Optional.of(positiveInt(t, key, value));
                case "hold" -> hold = Optional.of(duration(t, key, value));
                default -> throw new IllegalArgumentException("'" + t + "': unknown option '" + key
                        + "'; options are balance, fallback, drop, maxconn, hold");
            }
        }
        if (role.leaderRole() && (fallback || balance != Balance.LEASTCONN)) {
            throw new IllegalArgumentException("'" + t + "': balance and fallback apply to balanced roles, not to " + role.label());
        }
        return new ListenerSpec(m.group("name"), Optional.ofNullable(m.group("host")), port, role,
                m.group("query") == null ? "" : m.group("query"), balance, fallback, drop, maxconn, hold);
    }

    private static boolean onOff(String spec, String key, String value) {
        return switch (value) {
            case "on", "true", "yes" -> true;
            case "off", "false", "no" -> false;
            default -> throw bad(spec, key, value, "on or off");
        };
    }

    private static int positiveInt(String spec, String key, String value) {
        try {
            int n = Integer.parseInt(value);
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw bad(spec, key, value, "a whole number of at least 1");
    }

    private static Duration duration(String spec, String key, String value) {
        Matcher d = Pattern.compile("(\\d+)(ms|s|m)").matcher(value);
        if (!d.matches()) {
            throw bad(spec, key, value, "a duration such as 500ms, 10s or 1m");
        }
        long n = Long.parseLong(d.group(1));
        return switch (d.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            default -> Duration.ofMinutes(n);
        };
    }

    private static IllegalArgumentException bad(String spec, String key, String value, String expected) {
        return new IllegalArgumentException("'" + spec + "': " + key + "=" + value + ": must be " + expected);
    }
}
