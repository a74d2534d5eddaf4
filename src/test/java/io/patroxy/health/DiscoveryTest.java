package io.patroxy.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Test;

import io.patroxy.config.MemberAddress;

/** Members learnt from Patroni's /cluster (issue 12, discovery): pure rules, then the loop on a manual clock. */
class DiscoveryTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    /** Patroni 3.0.2's /cluster: role master, replicas "running". */
    static String cluster3(String... extraMembers) {
        StringBuilder m = new StringBuilder("""
                {"members": [
                 {"name": "postgresql0", "role": "leader", "state": "running", "api_url": "http://127.0.0.2:8008/patroni",
                  "host": "127.0.0.2", "port": 5432, "timeline": 3},
                 {"name": "postgresql1", "role": "replica", "state": "running", "api_url": "http://127.0.0.3:8008/patroni",
                  "host": "127.0.0.3", "port": 5432, "timeline": 3, "lag": 0}""");
        for (String e : extraMembers) {
            m.append(",\n").append(e);
        }
        return m.append("]}").toString();
    }

    /** A member as Patroni 4 shows it ("streaming", or "in archive recovery"). */
    static String member4(String name, String host, String state) {
        return "{\"name\": \"" + name + "\", \"role\": \"replica\", \"state\": \"" + state + "\", \"api_url\": \"http://" + host
                + ":8009/patroni\", \"host\": \"" + host + "\", \"port\": 5433, \"timeline\": 3, \"lag\": \"unknown\"}";
    }

    private final List<MemberAddress> seeds = MemberAddress.parseList("pg-a=127.0.0.2:5432:8008");

    @Test
    void parsesEveryMemberWhateverItsStateAndPatroniMajor() {
        List<MemberAddress> ms = DiscoveredMembers.parseCluster(cluster3(member4("postgresql2", "127.0.0.4", "streaming"),
                member4("postgresql3", "127.0.0.5", "in archive recovery")));
        assertThat(ms).extracting(MemberAddress::name).containsExactly("postgresql0", "postgresql1", "postgresql2", "postgresql3");
        assertThat(ms.get(2)).isEqualTo(new MemberAddress("postgresql2", "127.0.0.4", 5433, 8009));
        assertThatThrownBy(() -> DiscoveredMembers.parseCluster("<html>")).hasMessageStartingWith("not JSON");
        assertThatThrownBy(() -> DiscoveredMembers.parseCluster("{\"state\":\"running\"}")).hasMessage("no members array");
    }

    @Test
    void aSeedIsTheMemberWithItsHostAndPortWhateverTheNames() {
        DiscoveredMembers d = new DiscoveredMembers(seeds, Duration.ofSeconds(9));
        assertThat(d.record(List.of(DiscoveredMembers.parseCluster(cluster3())), T0)).isTrue();
        assertThat(d.members()).extracting(MemberAddress::name).containsExactly("pg-a", "postgresql1");
        assertThat(d.record(List.of(DiscoveredMembers.parseCluster(cluster3())), T0.plusSeconds(3))).isFalse();
    }

    @Test
    void aMemberStaysWhileAnyAnswerListsItAndLeavesAfterFallTimesInterval() {
        DiscoveredMembers d = new DiscoveredMembers(seeds, Duration.ofSeconds(9));
        String joined = member4("postgresql2", "127.0.0.4", "streaming");
        d.record(List.of(DiscoveredMembers.parseCluster(cluster3(joined))), T0);
        assertThat(d.members()).extracting(MemberAddress::name).contains("postgresql2");
        // one member's stale, partial view leaves it out, another's lists it: it stays
        d.record(List.of(DiscoveredMembers.parseCluster(cluster3()), DiscoveredMembers.parseCluster(cluster3(joined))), T0.plusSeconds(6));
        // no answer lists it any more: gone only after 9 s
        assertThat(d.record(List.of(DiscoveredMembers.parseCluster(cluster3())), T0.plusSeconds(12))).isFalse();
        assertThat(d.record(List.of(DiscoveredMembers.parseCluster(cluster3())), T0.plusSeconds(16))).isTrue();
        assertThat(d.members()).extracting(MemberAddress::name).containsExactly("pg-a", "postgresql1");
    }

    @Test
    void seedsAreNeverRemoved() {
        DiscoveredMembers d = new DiscoveredMembers(seeds, Duration.ofSeconds(9));
        d.record(List.of(), T0.plusSeconds(60));
        assertThat(d.members()).containsExactlyElementsOf(seeds);
    }

    @Test
    void theLoopReadsEveryKnownMemberAndReportsChangesOnly() {
        ManualScheduler clock = new ManualScheduler();
        Map<String, String> answers = new ConcurrentHashMap<>();
        answers.put("pg-a", cluster3());
        List<List<MemberAddress>> reported = new ArrayList<>();
        List<String> asked = new ArrayList<>();
        ClusterDiscovery discovery = new ClusterDiscovery(new DiscoveredMembers(seeds, Duration.ofSeconds(9)), m -> {
            asked.add(m.name());
            String body = answers.get(m.name());
            return body == null ? CompletableFuture.failedFuture(new java.net.ConnectException("refused"))
                    : CompletableFuture.completedFuture(body);
        }, clock, Duration.ofSeconds(3), reported::add);
        discovery.start();
        clock.advance(0);
        assertThat(reported).hasSize(1);
        assertThat(reported.get(0)).extracting(MemberAddress::name).containsExactly("pg-a", "postgresql1");
        clock.advance(3000);
        assertThat(asked).containsExactly("pg-a", "pg-a", "postgresql1"); // the second round asks both
        assertThat(reported).as("nothing changed").hasSize(1);
        answers.put("pg-a", "garbage"); // an unreadable answer adds nothing; the other member is down
        clock.advance(3000);
        assertThat(reported).hasSize(1);
        discovery.stop();
    }
}
