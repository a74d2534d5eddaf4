package io.patroxy.stats;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The stats in HAProxy's CSV format ({@code /;csv}): the columns of HAProxy 2.6's
 * {@code show stat} in its order (management guide, section 9.1). Each listener is one of
 * HAProxy's proxies ({@code pxname} = the listener's name, {@code iid} its place in the
 * configuration), in configuration order: its FRONTEND row, one row per member ({@code svname} =
 * the configured name), its BACKEND row. Columns that mean nothing for
 * Patroxy (HTTP, queues, rates, compression, agents) are left empty; where HAProxy writes 0 for a
 * counter it keeps in TCP mode and Patroxy keeps no such counter, the cell is empty too.
 * Like HAProxy's, every line ends with a comma.
 */
public final class HaproxyCsv {

    /** HAProxy 2.6's stat fields, from {@code pxname} to {@code agg_check_status}. */
    public static final List<String> COLUMNS = List.of(
            "pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout", "dreq", "dresp",
            "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight", "act", "bck", "chkfail", "chkdown",
            "lastchg", "downtime", "qlimit", "pid", "iid", "sid", "throttle", "lbtot", "tracked", "type", "rate",
            "rate_lim", "rate_max", "check_status", "check_code", "check_duration", "hrsp_1xx", "hrsp_2xx",
            "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "hanafail", "req_rate", "req_rate_max", "req_tot",
            "cli_abrt", "srv_abrt", "comp_in", "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk",
            "last_agt", "qtime", "ctime", "rtime", "ttime", "agent_status", "agent_code", "agent_duration",
            "check_desc", "agent_desc", "check_rise", "check_fall", "check_health", "agent_rise", "agent_fall",
            "agent_health", "addr", "cookie", "mode", "algo", "conn_rate", "conn_rate_max", "conn_tot",
            "intercepted", "dcon", "dses", "wrew", "connect", "reuse", "cache_lookups", "cache_hits", "srv_icur",
            "src_ilim", "qtime_max", "ctime_max", "rtime_max", "ttime_max", "eint", "idle_conn_cur",
            "safe_conn_cur", "used_conn_cur", "need_conn_est", "uweight", "agg_server_status",
            "agg_server_check_status", "agg_check_status");

    static final String TYPE_FRONTEND = "0";
    static final String TYPE_BACKEND = "1";
    static final String TYPE_SERVER = "2";

    private HaproxyCsv() {
    }

    public static String header() {
        return "# " + String.join(",", COLUMNS) + ",\n";
    }

    public static String write(StatsSnapshot s) {
        StringBuilder out = new StringBuilder(header());
        int iid = 0;
        for (StatsSnapshot.Listener l : s.listeners()) {
            Proxy px = new Proxy(l, ++iid, s.pid());
            row(out, frontend(px));
            for (StatsSnapshot.Server server : l.servers()) {
                row(out, server(px, server));
            }
            row(out, backend(px));
        }
        return out.toString();
    }

    /** One listener as one of HAProxy's proxies. */
    private record Proxy(StatsSnapshot.Listener listener, int iid, long pid) {
    }

    private static Map<String, Object> common(Proxy px, String svname, String type, int sid) {
        Map<String, Object> r = new HashMap<>();
        r.put("pxname", px.listener().name());
        r.put("svname", svname);
        r.put("pid", px.pid());
        r.put("iid", px.iid());
        r.put("sid", sid);
        r.put("type", type);
        r.put("mode", "tcp");
        return r;
    }

    private static Map<String, Object> frontend(Proxy px) {
        StatsSnapshot.Frontend f = px.listener().frontend();
        Map<String, Object> r = common(px, "FRONTEND", TYPE_FRONTEND, 0);
        r.put("scur", f.current());
        r.put("smax", f.max());
        r.put("slim", f.limit());
        r.put("stot", f.total());
        r.put("bin", f.clientToServerBytes());
        r.put("bout", f.serverToClientBytes());
        r.put("status", "OPEN");
        r.put("conn_tot", f.total() + f.closes().getOrDefault("maxconn", 0L));
        return r;
    }

    private static Map<String, Object> server(Proxy px, StatsSnapshot.Server m) {
        Map<String, Object> r = common(px, m.name(), TYPE_SERVER, m.id());
        r.put("qcur", 0);
        r.put("qmax", 0);
        r.put("scur", m.current());
        r.put("smax", m.max());
        r.put("stot", m.total());
        r.put("lbtot", m.total());
        r.put("bin", m.clientToServerBytes());
        r.put("bout", m.serverToClientBytes());
        r.put("econ", m.connectErrors());
        r.put("status", m.status().equals("NO CHECK") ? "no check" : m.status());
        r.put("weight", m.admin().equals("ready") ? 1 : 0); // HAProxy: drain and maint have an effective weight of 0
        r.put("act", 1);
        r.put("bck", 0);
        r.put("uweight", 1);
        r.put("chkfail", m.checkFailures());
        r.put("chkdown", m.downTransitions());
        r.put("lastchg", m.lastChangeSeconds());
        r.put("downtime", m.downtimeSeconds());
        r.put("check_rise", m.rise());
        r.put("check_fall", m.fall());
        r.put("check_health", m.health());
        r.put("addr", m.address());
        StatsSnapshot.Check c = m.check();
        if (c != null) {
            r.put("check_status", c.status());
            r.put("check_code", c.code() >= 0 ? c.code() : null);
            r.put("check_duration", c.durationMillis());
            r.put("check_desc", checkDescription(c.status()));
            r.put("last_chk", c.status().equals("L7OK") ? null : c.detail());
        }
        return r;
    }

    private static Map<String, Object> backend(Proxy px) {
        StatsSnapshot.Backend b = px.listener().backend();
        StatsSnapshot.Frontend f = px.listener().frontend();
        Map<String, Object> r = common(px, "BACKEND", TYPE_BACKEND, 0);
        r.put("qcur", 0);
        r.put("qmax", 0);
        r.put("scur", b.current());
        r.put("smax", f.max());
        r.put("slim", f.limit());
        r.put("stot", b.total());
        r.put("lbtot", b.total());
        r.put("bin", b.clientToServerBytes());
        r.put("bout", b.serverToClientBytes());
        r.put("econ", b.connectErrors());
        r.put("status", b.status());
        r.put("weight", b.upMembers());
        r.put("act", b.upMembers());
        r.put("bck", 0);
        r.put("uweight", b.upMembers());
        r.put("chkdown", b.downTransitions());
        r.put("lastchg", b.lastChangeSeconds());
        r.put("downtime", b.downtimeSeconds());
        return r;
    }

    /** HAProxy's {@code check_desc} for each {@code check_status} (checks.c, {@code check_statuses}). */
    static String checkDescription(String status) {
        return switch (status) {
            case "L7OK" -> "Layer7 check passed";
            case "L7STS" -> "Layer7 wrong status";
            case "L7RSP" -> "Layer7 invalid response";
            case "L7TOUT" -> "Layer7 timeout";
            case "L4CON" -> "Layer4 connection problem";
            case "L4TOUT" -> "Layer4 timeout";
            case "SOCKERR" -> "Socket error";
            default -> status;
        };
    }

    private static void row(StringBuilder out, Map<String, Object> values) {
        for (String column : COLUMNS) {
            Object v = values.get(column);
            if (v != null) {
                out.append(escape(v.toString()));
            }
            out.append(',');
        }
        out.append('\n');
    }

    /** As HAProxy's {@code csv_enc}: quoted only when it holds a comma, a quote or a line break. */
    static String escape(String v) {
        if (v.indexOf(',') < 0 && v.indexOf('"') < 0 && v.indexOf('\n') < 0 && v.indexOf('\r') < 0) {
            return v;
        }
        return '"' + v.replace("\"", "\"\"") + '"';
    }
}
