package io.patroxy.health;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import io.patroxy.config.MemberAddress;

/**
 * The members Patroxy knows, as Patroni's {@code /cluster} reports them: the seeds (configured,
 * never removed), and members that appeared in any member's answer, removed once no answer has
 * listed them for {@code removeAfter} (fall × interval). A member of {@code /cluster} is the same
 * as a known one when its PostgreSQL host:port matches, whatever the names. Pure: no clock, no I/O.
 * {@code /cluster} never routes by itself: every member is still judged by its own checks.
 */
public final class DiscoveredMembers {

    private final List<MemberAddress> seeds;
    private final Duration removeAfter;
    private final Map<String, MemberAddress> discovered = new LinkedHashMap<>(); // by host:port
    private final Map<String, Instant> lastSeen = new LinkedHashMap<>();

    public DiscoveredMembers(List<MemberAddress> seeds, Duration removeAfter) {
        this.seeds = List.copyOf(seeds);
        this.removeAfter = removeAfter;
    }

    /** Seeds first, in configuration order, then discovered members in the order they appeared. */
    public List<MemberAddress> members() {
        List<MemberAddress> all = new ArrayList<>(seeds);
        all.addAll(discovered.values());
        return List.copyOf(all);
    }

    /**
     * One round of answers (each a {@code /cluster} body that parsed) at {@code now}; returns
     * whether the member list changed.
     */
    public boolean record(List<List<MemberAddress>> answers, Instant now) {
        List<MemberAddress> before = members();
        for (List<MemberAddress> answer : answers) {
            for (MemberAddress m : answer) {
                String key = key(m);
                lastSeen.put(key, now);
                if (seeds.stream().noneMatch(s -> key(s).equals(key)) && !discovered.containsKey(key)
                        && members().stream().noneMatch(k -> k.name().equals(m.name()))) {
                    discovered.put(key, m);
                }
            }
        }
        discovered.keySet().removeIf(key -> Duration.between(lastSeen.get(key), now).compareTo(removeAfter) > 0);
        return !before.equals(members());
    }

    private static String key(MemberAddress m) {
        return m.host() + ":" + m.pgPort();
    }

    /**
     * The members of one {@code /cluster} body (Patroni 3 and 4: {@code running}, {@code streaming},
     * {@code in archive recovery} alike — the state is the checks' business); members without a
     * host, port or REST API address are left out.
     *
     * @throws IllegalArgumentException when the body is not Patroni's {@code /cluster} JSON
     */
    public static List<MemberAddress> parseCluster(String body) {
        Object root;
        try {
            root = JsonFields.parse(body == null ? "" : body);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage());
        }
        if (!(root instanceof JsonObject cluster && cluster.getValue("members") instanceof JsonArray all)) {
            throw new IllegalArgumentException("no members array");
        }
        List<MemberAddress> members = new ArrayList<>();
        for (Object o : all) {
            JsonObject m = o instanceof JsonObject j ? j : new JsonObject();
            String name = JsonFields.text(m, "name", "");
            String host = JsonFields.text(m, "host", "");
            int port = (int) JsonFields.number(m, "port", MemberAddress.DEFAULT_PG_PORT);
            String api = JsonFields.text(m, "api_url", "");
            try {
                URI uri = URI.create(api);
                int apiPort = uri.getPort() > 0 ? uri.getPort() : MemberAddress.DEFAULT_API_PORT;
                members.add(new MemberAddress(name, host, port, apiPort));
            } catch (IllegalArgumentException e) {
                // a member Patroni cannot describe fully yet (starting): the next round will
            }
        }
        return members;
    }
}
