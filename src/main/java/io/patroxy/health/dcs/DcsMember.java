package io.patroxy.health.dcs;

import java.net.URI;
import java.util.Optional;

import io.patroxy.health.JsonFields;
import io.vertx.core.json.JsonObject;

/**
 * One member node of Patroni's DCS ({@code /<namespace>/<scope>/members/<name>}), reduced to what
 * Patroxy follows: where its PostgreSQL is ({@code conn_url}) and its role. Everything else a member
 * rewrites every loop ({@code xlog_location}, {@code timeline}, {@code state}) is left out, so a new
 * value of those is no change.
 *
 * @param host the host of {@code conn_url}, "" if it has none
 * @param port the port of {@code conn_url} (PostgreSQL's 5432 when it names none), -1 without one
 * @param role "master" (Patroni 3), "primary" (Patroni 4), "replica", "standby_leader", ... or "" when absent
 */
public record DcsMember(String name, String host, int port, String role) {

    /** Parses the node's JSON; a node that is not Patroni's member JSON gives a member with no address. */
    public static DcsMember parse(String name, byte[] data) {
        JsonObject node = data == null ? null : JsonFields.object(new String(data, java.nio.charset.StandardCharsets.UTF_8));
        if (node == null) {
            return new DcsMember(name, "", -1, "");
        }
        String role = JsonFields.text(node, "role", "");
        return connUrl(JsonFields.text(node, "conn_url", ""))
                .map(u -> new DcsMember(name, u.getHost(), u.getPort() < 0 ? 5432 : u.getPort(), role))
                .orElse(new DcsMember(name, "", -1, role));
    }

    private static Optional<URI> connUrl(String url) {
        try {
            URI u = new URI(url);
            return u.getHost() == null ? Optional.empty() : Optional.of(u);
        } catch (java.net.URISyntaxException e) {
            return Optional.empty();
        }
    }

    /** Whether this member's PostgreSQL is at {@code host:port} (host names compared without case, IPv6 without brackets). */
    public boolean isAt(String otherHost, int otherPort) {
        return port == otherPort && strip(host).equalsIgnoreCase(strip(otherHost));
    }

    private static String strip(String h) {
        return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
    }
}
