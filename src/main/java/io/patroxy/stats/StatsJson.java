package io.patroxy.stats;

import java.time.Instant;
import java.util.List;
import java.util.function.Function;

import io.patroxy.health.JsonFields;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * {@code /;json} and {@code /stats.json}: a {@link StatsSnapshot} as JSON, field by field in the
 * records' order, on Vert.x's JSON and {@link JsonFields}' codec (Jackson's streaming core, no data binding).
 * Instants are ISO-8601 strings; a missing value is {@code null}.
 */
final class StatsJson {

    private StatsJson() {
    }

    static String write(StatsSnapshot s) {
        return JsonFields.encode(of(s));
    }

    static JsonObject of(StatsSnapshot s) {
        return new JsonObject()
                .put("proxy", s.proxy())
                .put("version", s.version())
                .put("pid", s.pid())
                .put("now", iso(s.now()))
                .put("started", iso(s.started()))
                .put("uptimeSeconds", s.uptimeSeconds())
                .put("frontend", frontend(s.frontend()))
                .put("backend", backend(s.backend()))
                .put("servers", array(s.servers(), StatsJson::server))
                .put("leadership", leadership(s.leadership()))
                .put("listeners", array(s.listeners(), StatsJson::listener));
    }

    private static JsonObject listener(StatsSnapshot.Listener l) {
        return new JsonObject()
                .put("name", l.name())
                .put("role", l.role())
                .put("check", l.check())
                .put("address", l.address())
                .put("leaderRole", l.leaderRole())
                .put("routable", l.routable())
                .put("frontend", frontend(l.frontend()))
                .put("backend", backend(l.backend()))
                .put("servers", array(l.servers(), StatsJson::server))
                .put("leadership", leadership(l.leadership()));
    }

    private static JsonObject frontend(StatsSnapshot.Frontend f) {
        JsonObject closes = new JsonObject();
        f.closes().forEach(closes::put);
        return new JsonObject()
                .put("current", f.current())
                .put("max", f.max())
                .put("limit", f.limit())
                .put("total", f.total())
                .put("refused", f.refused())
                .put("held", f.held())
                .put("clientToServerBytes", f.clientToServerBytes())
                .put("serverToClientBytes", f.serverToClientBytes())
                .put("closes", closes);
    }

    private static JsonObject backend(StatsSnapshot.Backend b) {
        return new JsonObject()
                .put("up", b.up())
                .put("upMembers", b.upMembers())
                .put("current", b.current())
                .put("total", b.total())
                .put("clientToServerBytes", b.clientToServerBytes())
                .put("serverToClientBytes", b.serverToClientBytes())
                .put("connectErrors", b.connectErrors())
                .put("downTransitions", b.downTransitions())
                .put("lastChangeSeconds", b.lastChangeSeconds())
                .put("downtimeSeconds", b.downtimeSeconds());
    }

    private static JsonObject server(StatsSnapshot.Server s) {
        return new JsonObject()
                .put("id", s.id())
                .put("name", s.name())
                .put("address", s.address())
                .put("status", s.status())
                .put("admin", s.admin())
                .put("up", s.up())
                .put("leader", s.leader())
                .put("role", s.role())
                .put("timeline", s.timeline())
                .put("check", check(s.check()))
                .put("checkFailures", s.checkFailures())
                .put("downTransitions", s.downTransitions())
                .put("upTransitions", s.upTransitions())
                .put("lastChange", iso(s.lastChange()))
                .put("lastChangeSeconds", s.lastChangeSeconds())
                .put("downtimeSeconds", s.downtimeSeconds())
                .put("rise", s.rise())
                .put("fall", s.fall())
                .put("health", s.health())
                .put("current", s.current())
                .put("max", s.max())
                .put("total", s.total())
                .put("clientToServerBytes", s.clientToServerBytes())
                .put("serverToClientBytes", s.serverToClientBytes())
                .put("connectErrors", s.connectErrors());
    }

    private static JsonObject check(StatsSnapshot.Check c) {
        return c == null ? null : new JsonObject()
                .put("status", c.status())
                .put("description", c.description())
                .put("code", c.code())
                .put("detail", c.detail())
                .put("durationMillis", c.durationMillis())
                .put("at", iso(c.at()))
                .put("ageSeconds", c.ageSeconds());
    }

    private static JsonObject leadership(StatsSnapshot.Leadership l) {
        return l == null ? null : new JsonObject()
                .put("leader", l.leader())
                .put("timeline", l.timeline())
                .put("contested", l.contested())
                .put("leaderlessSince", iso(l.leaderlessSince()))
                .put("leaderlessSeconds", l.leaderlessSeconds())
                .put("elections", l.elections())
                .put("losses", l.losses())
                .put("changes", array(l.changes(), StatsJson::change))
                .put("withheld", l.withheld())
                .put("withheldState", l.withheldState());
    }

    private static JsonObject change(StatsSnapshot.LeaderChange c) {
        return new JsonObject()
                .put("at", iso(c.at()))
                .put("from", c.from())
                .put("to", c.to())
                .put("timeline", c.timeline())
                .put("withoutLeaderMillis", c.withoutLeaderMillis());
    }

    private static <T> JsonArray array(List<T> items, Function<T, JsonObject> each) {
        JsonArray a = new JsonArray();
        items.forEach(i -> a.add(each.apply(i)));
        return a;
    }

    private static String iso(Instant at) {
        return at == null ? null : at.toString();
    }
}
