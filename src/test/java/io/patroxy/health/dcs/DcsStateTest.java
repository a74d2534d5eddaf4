package io.patroxy.health.dcs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.patroxy.config.MemberAddress;

/** Patroni's member JSON reduced to what Patroxy follows, and the key holder mapped by conn_url. */
class DcsStateTest {

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aMemberIsItsConnUrlsHostAndPortAndItsRole() {
        DcsMember m = DcsMember.parse("postgresql0", bytes("{\"conn_url\":\"postgres://127.0.0.51:5432/postgres\","
                + "\"api_url\":\"http://127.0.0.51:8008/patroni\",\"state\":\"running\",\"role\":\"master\","
                + "\"version\":\"3.0.2\",\"xlog_location\":50639752,\"timeline\":1}"));
        assertThat(m).isEqualTo(new DcsMember("postgresql0", "127.0.0.51", 5432, "master"));
    }

    @Test
    void noPortMeansPostgresqlsAndIpv6AndCaseAreCompared() {
        assertThat(DcsMember.parse("n", bytes("{\"conn_url\":\"postgres://db1.example/postgres\",\"role\":\"replica\"}")).isAt("DB1.example", 5432))
                .isTrue();
        assertThat(DcsMember.parse("n", bytes("{\"conn_url\":\"postgres://[::1]:6543/postgres\"}")).isAt("::1", 6543)).isTrue();
        assertThat(DcsMember.parse("n", bytes("{\"conn_url\":\"postgres://[::1]:6543/postgres\"}")).isAt("::1", 5432)).isFalse();
    }

    @Test
    void garbageIsAMemberWithNoAddressNeverAMatch() {
        for (String junk : new String[] {"", "not json", "[1,2]", "{\"conn_url\":\"::::\"}", "{}"}) {
            DcsMember m = DcsMember.parse("n", bytes(junk));
            assertThat(m.isAt("127.0.0.1", 5432)).as(junk).isFalse();
        }
        assertThat(DcsMember.parse("n", null).port()).isEqualTo(-1);
    }

    @Test
    void theLeaderIsFoundAmongPatroxysMembersByAddressWhateverTheNames() {
        List<MemberAddress> ours = MemberAddress.parseList("pg-a=127.0.0.2:5432,pg-b=127.0.0.3:5432");
        DcsState s = DcsState.of(bytes("node1\n"), Map.of(
                "node0", bytes("{\"conn_url\":\"postgres://127.0.0.2:5432/postgres\",\"role\":\"replica\"}"),
                "node1", bytes("{\"conn_url\":\"postgres://127.0.0.3:5432/postgres\",\"role\":\"master\"}")));
        assertThat(s.leader()).isEqualTo("node1");
        assertThat(s.leaderAmong(ours)).map(MemberAddress::name).contains("pg-b");
        assertThat(DcsState.of(null, s.members().entrySet().stream().collect(java.util.stream.Collectors.toMap(
                Map.Entry::getKey, e -> bytes("{}")))).leaderAmong(ours)).isEmpty();
        assertThat(DcsState.of(bytes("node7"), Map.of()).leaderAmong(ours)).as("a holder without a member node").isEmpty();
        assertThat(DcsState.DISCONNECTED.leaderAmong(ours)).isEmpty();
    }
}
