package io.patroxy.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class HaproxyCsvTest {

    /** The first line of {@code /;csv} from a real HAProxy 2.6.12 (Debian bookworm). */
    static List<String> haproxyHeader() throws IOException {
        try (InputStream in = HaproxyCsvTest.class.getResourceAsStream("/haproxy-2.6-stats.csv")) {
            String first = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().findFirst().orElseThrow();
            return Arrays.asList(first.substring(2).split(","));
        }
    }

    /** Parses our CSV by its header: svname → (column → value). */
    static Map<String, Map<String, String>> parse(String csv) {
        List<String> lines = csv.lines().toList();
        assertThat(lines.get(0)).startsWith("# pxname,svname,");
        String[] header = lines.get(0).substring(2).split(",", -1);
        Map<String, Map<String, String>> rows = new HashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            assertThat(cells).as(line).hasSameSizeAs(header); // both end with a comma
            Map<String, String> row = new HashMap<>();
            for (int i = 0; i < header.length; i++) {
                row.put(header[i], cells[i]);
            }
            rows.put(row.get("svname"), row);
        }
        return rows;
    }

    @Test
    void columnsAreHaproxy26sInItsOrder() throws IOException {
        List<String> haproxy = haproxyHeader();
        assertThat(haproxy.subList(0, HaproxyCsv.COLUMNS.size())).isEqualTo(HaproxyCsv.COLUMNS);
        assertThat(HaproxyCsv.header()).startsWith("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,"
                + "ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,"
                + "throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,");
    }

    @Test
    void drainAndMaintShowAsHaproxyShowsThemWithAnEffectiveWeightOfZero() {
        Fixtures f = new Fixtures();
        f.primary("pg0", 3, 0);
        f.replica("pg1", 0);
        f.cluster.setAdmin("pg0", io.patroxy.cluster.AdminState.DRAIN);
        f.cluster.setAdmin("pg1", io.patroxy.cluster.AdminState.MAINT);
        StatsSnapshot snap = f.snapshot(10);
        Map<String, Map<String, String>> rows = parse(HaproxyCsv.write(snap));
        assertThat(rows.get("pg0")).containsEntry("status", "DRAIN").containsEntry("weight", "0").containsEntry("uweight", "1");
        assertThat(rows.get("pg1")).containsEntry("status", "MAINT").containsEntry("weight", "0");
        assertThat(snap.servers()).extracting(StatsSnapshot.Server::admin).containsExactly("drain", "maint");
        assertThat(snap.servers()).extracting(StatsSnapshot.Server::statusClass).containsExactly("drain", "maint");
        assertThat(snap.leadership().leader()).isNull();
        assertThat(snap.leadership().withheld()).isEqualTo("pg0");
        assertThat(new StatsPage().render(snap, java.time.Duration.ZERO))
                .contains("<b id=\"withheld\">pg0</b> leads but an administrator put it in DRAIN")
                .contains("<tr id=\"server-pg1\" class=\"maint\">");
    }

    @Test
    void rowsAreWrittenAsHaproxyWritesThem() {
        Fixtures f = new Fixtures();
        f.replica("pg1", 0);
        f.primary("pg0", 3, 1);
        f.refused("pg1", 4);

        Map<String, Map<String, String>> rows = parse(HaproxyCsv.write(f.snapshot(10)));

        assertThat(rows.keySet()).containsExactlyInAnyOrder("FRONTEND", "pg0", "pg1", "BACKEND");
        Map<String, String> pg0 = rows.get("pg0");
        assertThat(pg0).containsEntry("pxname", "postgres").containsEntry("status", "UP")
                .containsEntry("check_status", "L7OK").containsEntry("check_code", "200")
                .containsEntry("check_duration", "3").containsEntry("check_desc", "Layer7 check passed")
                .containsEntry("type", "2").containsEntry("sid", "1").containsEntry("lastchg", "9")
                .containsEntry("chkfail", "0").containsEntry("downtime", "0").containsEntry("scur", "0")
                .containsEntry("check_rise", "2").containsEntry("check_fall", "3").containsEntry("check_health", "4")
                .containsEntry("pid", "4242").containsEntry("mode", "tcp").containsEntry("hrsp_2xx", "");
        Map<String, String> pg1 = rows.get("pg1");
        assertThat(pg1).containsEntry("status", "DOWN").containsEntry("check_status", "L4CON")
                .containsEntry("check_code", "").containsEntry("last_chk", "connection refused")
                .containsEntry("check_desc", "Layer4 connection problem").containsEntry("chkfail", "2")
                .containsEntry("chkdown", "0").containsEntry("downtime", "10").containsEntry("sid", "2");
        assertThat(rows.get("FRONTEND")).containsEntry("status", "OPEN").containsEntry("slim", "100")
                .containsEntry("type", "0").containsEntry("qcur", "");
        assertThat(rows.get("BACKEND")).containsEntry("status", "UP").containsEntry("act", "1")
                .containsEntry("type", "1").containsEntry("downtime", "1").containsEntry("lastchg", "9");
    }

    @Test
    void backendIsDownWithoutLeader() {
        Fixtures f = new Fixtures();
        f.replica("pg0", 0);
        f.replica("pg1", 0);
        Map<String, Map<String, String>> rows = parse(HaproxyCsv.write(f.snapshot(5)));
        assertThat(rows.get("BACKEND")).containsEntry("status", "DOWN").containsEntry("act", "0")
                .containsEntry("downtime", "5");
    }

    /** Parses our CSV into its rows, in order: each row's column → value. */
    static List<Map<String, String>> rows(String csv) {
        List<String> lines = csv.lines().toList();
        String[] header = lines.get(0).substring(2).split(",", -1);
        List<Map<String, String>> rows = new java.util.ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            assertThat(cells).as(line).hasSameSizeAs(header);
            Map<String, String> row = new HashMap<>();
            for (int i = 0; i < header.length; i++) {
                row.put(header[i], cells[i]);
            }
            rows.add(row);
        }
        return rows;
    }

    @Test
    void eachListenerIsAProxyWithItsFrontendMembersAndBackendInConfigurationOrder() {
        Fixtures primary = new Fixtures("primary", io.patroxy.config.Role.PRIMARY, 5432);
        Fixtures replicas = new Fixtures("replicas", io.patroxy.config.Role.REPLICA, 5433);
        primary.primary("pg0", 2, 0);
        primary.replica("pg1", 0);
        replicas.check("pg0", 503, "master", 2, 0);
        replicas.check("pg1", 200, "replica", 2, 0);

        List<Map<String, String>> rows = rows(HaproxyCsv.write(Fixtures.snapshot(5, primary, replicas)));

        assertThat(rows).extracting(r -> r.get("pxname") + "/" + r.get("svname")).containsExactly(
                "primary/FRONTEND", "primary/pg0", "primary/pg1", "primary/BACKEND",
                "replicas/FRONTEND", "replicas/pg0", "replicas/pg1", "replicas/BACKEND");
        assertThat(rows).extracting(r -> r.get("iid")).containsExactly("1", "1", "1", "1", "2", "2", "2", "2");
        assertThat(rows.get(1)).containsEntry("status", "UP");
        assertThat(rows.get(2)).containsEntry("status", "DOWN");
        assertThat(rows.get(3)).containsEntry("status", "UP").containsEntry("act", "1");
        assertThat(rows.get(5)).containsEntry("status", "DOWN").containsEntry("check_code", "503");
        assertThat(rows.get(6)).containsEntry("status", "UP").containsEntry("check_code", "200");
        assertThat(rows.get(7)).containsEntry("status", "UP").containsEntry("act", "1");
    }

    @Test
    void aBalancedListenersBackendIsDownWhileNoMemberIsUp() {
        Fixtures replicas = new Fixtures("replicas", io.patroxy.config.Role.REPLICA, 5433);
        replicas.check("pg0", 503, "master", 1, 0);
        replicas.check("pg1", 503, "replica", 1, 0);
        Map<String, String> backend = rows(HaproxyCsv.write(replicas.snapshot(4))).get(3);
        assertThat(backend).containsEntry("svname", "BACKEND").containsEntry("status", "DOWN")
                .containsEntry("act", "0").containsEntry("downtime", "4");
    }

    @Test
    void quotesOnlyWhatNeedsIt() {
        assertThat(HaproxyCsv.escape("connection refused")).isEqualTo("connection refused");
        assertThat(HaproxyCsv.escape("a,b \"c\"")).isEqualTo("\"a,b \"\"c\"\"\"");
    }
}
