package io.patroxy.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One Patroni member as configured: {@code [name=]host[:pgport[:apiport]]}.
 * The name (default {@code host:pgport}) is what logs, stats and metrics call the member.
 */
public record MemberAddress(String name, String host, int pgPort, int apiPort) {

    public static final int DEFAULT_PG_PORT = 5432;
    public static final int DEFAULT_API_PORT = 8008;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.:-]+");
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9_.-]+");

    public MemberAddress {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("member name '" + name + "' may only contain letters, digits, '_', '.', ':' and '-'");
        }
        if (host == null || !HOST.matcher(host).matches()) {
            throw new IllegalArgumentException("member host '" + host + "' is not a host name or IPv4 address");
        }
        checkPort("PostgreSQL port", pgPort);
        checkPort("REST API port", apiPort);
    }

    /** Parses one member, e.g. {@code postgresql0=127.0.0.2:5432:8008}. */
    public static MemberAddress parse(String spec) {
        String text = spec == null ? "" : spec.trim();
        if (text.isEmpty()) {
            throw new IllegalArgumentException("empty member; expected [name=]host[:pgport[:apiport]]");
        }
        String name = null;
        int eq = text.indexOf('=');
        if (eq >= 0) {
            name = text.substring(0, eq).trim();
            text = text.substring(eq + 1).trim();
            if (name.isEmpty()) {
                throw new IllegalArgumentException("member '" + spec + "' has an empty name before '='");
            }
        }
        String[] parts = text.split(":", -1);
        if (parts.length > 3) {
            throw new IllegalArgumentException("member '" + spec + "' has too many ':' parts; expected [name=]host[:pgport[:apiport]]");
        }
        String host = parts[0];
        int pgPort = parts.length > 1 ? parsePort(spec, "PostgreSQL port", parts[1]) : DEFAULT_PG_PORT;
        int apiPort = parts.length > 2 ? parsePort(spec, "REST API port", parts[2]) : DEFAULT_API_PORT;
        try {
            return new MemberAddress(name != null ? name : host + ":" + pgPort, host, pgPort, apiPort);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("member '" + spec + "': " + e.getMessage(), e);
        }
    }

    /** Parses a comma-separated member list and rejects duplicate names. */
    public static List<MemberAddress> parseList(String specs) {
        List<MemberAddress> members = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (String spec : (specs == null ? "" : specs).split(",")) {
            if (spec.isBlank()) {
                continue;
            }
            MemberAddress member = parse(spec);
            if (!names.add(member.name())) {
                throw new IllegalArgumentException("member name '" + member.name() + "' appears twice");
            }
            members.add(member);
        }
        if (members.isEmpty()) {
            throw new IllegalArgumentException("no member given; expected e.g. postgresql0=127.0.0.2:5432:8008,postgresql1=127.0.0.3:5432:8008");
        }
        return List.copyOf(members);
    }

    private static int parsePort(String spec, String what, String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("member '" + spec + "': " + what + " '" + value + "' is not a number");
        }
    }

    private static void checkPort(String what, int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(what + " " + port + " is outside 1-65535");
        }
    }

    @Override
    public String toString() {
        return name + "=" + host + ":" + pgPort + ":" + apiPort;
    }
}
