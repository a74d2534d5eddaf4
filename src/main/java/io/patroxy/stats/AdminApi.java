package io.patroxy.stats;

import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.patroxy.cluster.AdminState;
import io.patroxy.cluster.ClusterView;
import io.patroxy.cluster.MemberView;
import io.patroxy.health.JsonFields;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * The admin API, as a plain function of one request (the Vert.x glue is {@link AdminEndpoint}),
 * in the manner of HAProxy's runtime API ({@code set server state ready|drain|maint},
 * {@code shutdown sessions server}) and Patroni's REST API (JSON, POST for every change):
 *
 * <pre>
 * GET  /admin/state                                  every listener, its members, their states
 * GET  /admin/members/{name}                         one member on every listener
 * POST /admin/members/{name}                         {"state": "ready"|"drain"|"maint", "listener": "..."}
 * POST /admin/members/{name}/shutdown-sessions       {} or {"listener": "..."}
 * </pre>
 *
 * Without {@code listener} a change applies to the member on every listener. Order of refusals:
 * 401 (wrong or missing credentials: nothing else is said), 403 (a browser's cross-origin request),
 * 404 (unknown path), 405 (wrong method: no state ever changes on GET), 415 (a POST whose
 * Content-Type is not application/json: an HTML form cannot send that cross-site without a CORS
 * preflight, which Patroxy never grants), 400 (bad body), 404 (unknown member or listener), 503
 * (before the proxy started). A refusal changes nothing. Every POST is one log line naming the user.
 */
public final class AdminApi {

    private static final Logger LOG = Logger.getLogger(AdminApi.class);
    static final String PREFIX = "/admin";

    /** One HTTP request, as much of it as the API reads. Headers may be null. */
    public record Request(String method, String path, String contentType, String origin, String host,
            String authorization, String body, String remote) {
    }

    /** The answer: a status and a JSON body; {@code allow} for a 405, {@code challenge} for a 401. */
    public record Response(int status, String json, String allow, boolean challenge) {
    }

    private final BasicAuth auth;
    private final Supplier<List<ProxyStarted.Listener>> listeners;

    public AdminApi(BasicAuth auth, Supplier<List<ProxyStarted.Listener>> listeners) {
        this.auth = auth;
        this.listeners = listeners;
    }

    public Response handle(Request r) {
        Optional<String> user = auth.authenticate(r.authorization());
        if (user.isEmpty()) {
            LOG.warnf("admin: refused %s %s from %s: wrong or missing credentials (401)", r.method(), r.path(), r.remote());
            return new Response(401, error("wrong or missing credentials"), null, true);
        }
        if (crossOrigin(r)) {
            return refused(user.get(), r, 403, "a cross-origin request (Origin " + r.origin() + ") is refused");
        }
        String[] parts = r.path().substring(PREFIX.length()).split("/", -1);
        // "", "state" | "", "members", name [, "shutdown-sessions"]
        boolean state = parts.length == 2 && parts[1].equals("state");
        boolean member = parts.length == 3 && parts[1].equals("members") && !parts[2].isEmpty();
        boolean shutdown = parts.length == 4 && parts[1].equals("members") && !parts[2].isEmpty()
                && parts[3].equals("shutdown-sessions");
        if (!state && !member && !shutdown) {
            return refused(user.get(), r, 404, "no such admin resource: " + r.path()
                    + " (GET /admin/state, GET|POST /admin/members/NAME, POST /admin/members/NAME/shutdown-sessions)");
        }
        String allow = state ? "GET" : member ? "GET, POST" : "POST";
        if (!allow.contains(r.method())) {
            return new Response(405, error(r.method() + " is not allowed on " + r.path() + "; allowed: " + allow), allow, false);
        }
        List<ProxyStarted.Listener> ls = listeners.get();
        if (ls.isEmpty()) {
            return new Response(503, error("Patroxy is starting"), null, false);
        }
        if (r.method().equals("GET")) {
            return state ? ok(state(ls)) : memberState(ls, parts[2]);
        }
        if (!isJson(r.contentType())) {
            return refused(user.get(), r, 415, "Content-Type must be application/json, not "
                    + (r.contentType() == null ? "none" : r.contentType()));
        }
        Map<String, String> body;
        try {
            body = body(r.body(), member);
        } catch (IllegalArgumentException e) {
            return refused(user.get(), r, 400, e.getMessage());
        }
        String name = parts[2];
        List<ProxyStarted.Listener> targets;
        try {
            targets = targets(ls, name, body.get("listener"));
        } catch (IllegalArgumentException e) {
            return refused(user.get(), r, 404, e.getMessage());
        }
        return member ? setState(user.get(), r, name, AdminState.parse(body.get("state")).orElseThrow(), targets)
                : shutdownSessions(user.get(), r, name, targets);
    }

    private Response setState(String user, Request r, String member, AdminState state, List<ProxyStarted.Listener> targets) {
        List<Map<String, Object>> changes = new ArrayList<>();
        for (ProxyStarted.Listener l : targets) {
            AdminState was = l.cluster().setAdmin(member, state);
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("listener", l.name());
            c.put("was", was.label());
            c.put("state", state.label());
            c.put("status", l.cluster().view().member(member).map(MemberView::display).orElse("?"));
            changes.add(c);
        }
        LOG.infof("admin user %s from %s: member %s -> %s on listener %s (was %s)", user, r.remote(), member, state,
                names(targets), changes.stream().map(c -> c.get("listener") + " " + c.get("was")).toList());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("member", member);
        out.put("state", state.label());
        out.put("listeners", changes);
        return ok(out);
    }

    private Response shutdownSessions(String user, Request r, String member, List<ProxyStarted.Listener> targets) {
        int told = 0;
        for (ProxyStarted.Listener l : targets) {
            told += l.sessions().shutdownSessions(member);
        }
        LOG.infof("admin user %s from %s: shutdown-sessions of member %s on listener %s: %d sessions told", user, r.remote(),
                member, names(targets), told);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("member", member);
        out.put("listeners", targets.stream().map(ProxyStarted.Listener::name).toList());
        out.put("sessions", told);
        return ok(out);
    }

    /** The listeners a change applies to: the one named, or every listener that has the member. */
    private static List<ProxyStarted.Listener> targets(List<ProxyStarted.Listener> ls, String member, String listener) {
        List<ProxyStarted.Listener> out = new ArrayList<>();
        for (ProxyStarted.Listener l : ls) {
            if (listener == null || l.name().equals(listener)) {
                out.add(l);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("unknown listener " + listener + "; listeners: " + names(ls));
        }
        out.removeIf(l -> l.cluster().view().member(member).isEmpty());
        if (out.isEmpty()) {
            throw new IllegalArgumentException("unknown member " + member + (listener == null ? "" : " on listener " + listener)
                    + "; members: " + ls.get(0).cluster().view().members().stream().map(MemberView::name).toList());
        }
        return out;
    }

    /** {"state": ..., "listener": ...} for a state change, {"listener": ...} (or nothing) for shutdown-sessions. */
    private Map<String, String> body(String text, boolean stateChange) {
        Map<String, String> out = new LinkedHashMap<>();
        Object node;
        try {
            node = text == null || text.isBlank() ? new JsonObject() : JsonFields.parse(text);
        } catch (DecodeException e) {
            throw new IllegalArgumentException("the body is not JSON: " + e.getMessage().split("\n", 2)[0]); // without Jackson's location
        }
        if (!(node instanceof JsonObject fields)) {
            throw new IllegalArgumentException("the body must be a JSON object");
        }
        for (Map.Entry<String, Object> f : fields) {
            boolean known = f.getKey().equals("listener") || (stateChange && f.getKey().equals("state"));
            if (!known) {
                throw new IllegalArgumentException("unknown field '" + f.getKey() + "'; expected "
                        + (stateChange ? "\"state\" and optionally \"listener\"" : "optionally \"listener\""));
            }
            if (!(f.getValue() instanceof String value)) {
                throw new IllegalArgumentException("'" + f.getKey() + "' must be a string");
            }
            out.put(f.getKey(), value);
        }
        if (stateChange) {
            String s = out.get("state");
            if (s == null) {
                throw new IllegalArgumentException("missing \"state\": one of ready, drain, maint");
            }
            if (AdminState.parse(s).isEmpty()) {
                throw new IllegalArgumentException("state '" + s + "' is not one of ready, drain, maint");
            }
        }
        return out;
    }

    private Response memberState(List<ProxyStarted.Listener> ls, String member) {
        List<Map<String, Object>> on = new ArrayList<>();
        for (ProxyStarted.Listener l : ls) {
            l.cluster().view().member(member).ifPresent(m -> {
                Map<String, Object> row = memberRow(l, l.cluster().view(), m);
                row.remove("member");
                row.put("listener", l.name());
                on.add(row);
            });
        }
        if (on.isEmpty()) {
            return new Response(404, error("unknown member " + member), null, false);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("member", member);
        out.put("listeners", on);
        return ok(out);
    }

    private static Map<String, Object> state(List<ProxyStarted.Listener> ls) {
        List<Map<String, Object>> listeners = new ArrayList<>();
        for (ProxyStarted.Listener l : ls) {
            ClusterView v = l.cluster().view();
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("listener", l.name());
            row.put("role", l.role().label());
            if (l.role().leaderRole()) {
                row.put("leader", v.leaderName().orElse(null));
                row.put("withheld", v.withheld() == null ? null : v.withheld().name());
            }
            row.put("members", v.members().stream().map(m -> memberRow(l, v, m)).toList());
            listeners.add(row);
        }
        return Map.of("listeners", listeners);
    }

    private static Map<String, Object> memberRow(ProxyStarted.Listener l, ClusterView v, MemberView m) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("member", m.name());
        row.put("state", m.admin().label());
        row.put("status", m.display());
        row.put("check", m.health().display());
        row.put("sessions", l.sessions().sessionsOn(m.name()));
        return row;
    }

    /** A browser's request from another origin (an Origin header naming another host:port than Host). */
    private static boolean crossOrigin(Request r) {
        if (r.origin() == null) {
            return false; // curl and other non-browser clients
        }
        try {
            URI origin = URI.create(r.origin().trim());
            if (origin.getHost() == null || r.host() == null) {
                return true; // "Origin: null" (a sandboxed or file: page) or no Host to compare
            }
            int port = origin.getPort() >= 0 ? origin.getPort() : "https".equalsIgnoreCase(origin.getScheme()) ? 443 : 80;
            return !(origin.getHost() + ":" + port).equalsIgnoreCase(r.host().contains(":") ? r.host() : r.host() + ":80");
        } catch (IllegalArgumentException e) {
            return true;
        }
    }

    private static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        String type = contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        return type.equals("application/json");
    }

    private Response refused(String user, Request r, int status, String message) {
        LOG.infof("admin user %s from %s: refused %s %s: %s (%d)", user, r.remote(), r.method(), r.path(), message, status);
        return new Response(status, error(message), null, false);
    }

    private static Response ok(Object body) {
        return new Response(200, JsonFields.encode(body), null, false);
    }

    private static String error(String message) {
        return JsonFields.encode(new JsonObject().put("error", message));
    }

    private static String names(List<ProxyStarted.Listener> ls) {
        return String.join(", ", ls.stream().map(ProxyStarted.Listener::name).toList());
    }
}
