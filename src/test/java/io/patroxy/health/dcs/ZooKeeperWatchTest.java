package io.patroxy.health.dcs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.patroxy.config.DcsSettings;

/**
 * The watch against a real ZooKeeper server (Curator's in-process {@link TestingServer}), written
 * to as Patroni writes: an ephemeral leader key, member nodes rewritten every loop with a new WAL
 * position. Only what matters reaches the consumer; a stopped server means polling only.
 */
class ZooKeeperWatchTest {

    private final List<DcsState> seen = new CopyOnWriteArrayList<>();
    private TestingServer server;
    private CuratorFramework patroni;
    private ZooKeeperWatch watch;

    private void start(Optional<String> auth) throws Exception {
        server = new TestingServer(true);
        patroni = CuratorFrameworkFactory.newClient(server.getConnectString(), new RetryOneTime(100));
        patroni.start();
        patroni.blockUntilConnected();
        member("postgresql0", "127.0.0.2", "master", 1);
        member("postgresql1", "127.0.0.3", "replica", 1);
        patroni.create().withMode(CreateMode.EPHEMERAL).forPath("/service/my_cluster/leader", bytes("postgresql0"));
        patroni.create().forPath("/service/my_cluster/status", bytes("{\"optime\":1}"));
        watch = ZooKeeperWatch.start(new DcsSettings(server.getConnectString(), "/service", "my_cluster", Duration.ofMillis(50), auth),
                seen::add);
    }

    private void member(String name, String host, String role, long xlog) throws Exception {
        String path = "/service/my_cluster/members/" + name;
        byte[] data = bytes("{\"conn_url\":\"postgres://" + host + ":5432/postgres\",\"state\":\"running\",\"role\":\"" + role
                + "\",\"xlog_location\":" + xlog + ",\"timeline\":1}");
        if (patroni.checkExists().forPath(path) == null) {
            patroni.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(path, data);
        } else {
            patroni.setData().forPath(path, data);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private DcsState last() {
        return seen.get(seen.size() - 1);
    }

    @AfterEach
    void stop() throws Exception {
        if (watch != null) {
            watch.close();
        }
        if (patroni != null) {
            patroni.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void theLeaderKeyAndMembersAreFollowedTheWalPositionIsNot() throws Exception {
        start(Optional.of("patroxy:secret"));
        await().atMost(Duration.ofSeconds(20)).until(() -> !seen.isEmpty() && last().connected());
        assertThat(last().leader()).isEqualTo("postgresql0");
        assertThat(last().members()).containsOnlyKeys("postgresql0", "postgresql1");
        assertThat(watch.connected()).isTrue();
        int before = seen.size();

        for (int loop = 2; loop < 6; loop++) { // Patroni's loop: members and /status rewritten
            member("postgresql0", "127.0.0.2", "master", loop);
            member("postgresql1", "127.0.0.3", "replica", loop);
            patroni.setData().forPath("/service/my_cluster/status", bytes("{\"optime\":" + loop + "}"));
        }
        // a switchover: key deleted, then taken by the candidate, then its role rewritten
        patroni.delete().forPath("/service/my_cluster/leader");
        await().atMost(Duration.ofSeconds(10)).until(() -> last().leader() == null);
        patroni.create().withMode(CreateMode.EPHEMERAL).forPath("/service/my_cluster/leader", bytes("postgresql1"));
        await().atMost(Duration.ofSeconds(10)).until(() -> "postgresql1".equals(last().leader()));
        member("postgresql1", "127.0.0.3", "master", 7);
        await().atMost(Duration.ofSeconds(10)).until(() -> "master".equals(last().members().get("postgresql1").role()));
        assertThat(seen.subList(before, seen.size())).as("the WAL rewrites told nothing; key deleted, taken, role")
                .extracting(DcsState::leader).containsExactly(null, "postgresql1", "postgresql1");
    }

    @Test
    void aStoppedZooKeeperIsPollingOnlyAndTheWatchComesBackWithIt() throws Exception {
        start(Optional.empty());
        await().atMost(Duration.ofSeconds(20)).until(() -> !seen.isEmpty() && last().connected());
        server.stop();
        await().atMost(Duration.ofSeconds(20)).until(() -> !last().connected());
        assertThat(last()).isEqualTo(DcsState.DISCONNECTED);
        assertThat(watch.connected()).isFalse();
        server.restart();
        await().atMost(Duration.ofSeconds(30)).until(() -> last().connected() && watch.connected());
        assertThat(last().leader()).isEqualTo("postgresql0");
    }
}
