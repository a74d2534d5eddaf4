package io.patroxy.health.dcs;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryForever;
import org.apache.zookeeper.client.ZKClientConfig;
import org.jboss.logging.Logger;

import io.patroxy.config.DcsSettings;

/**
 * Watches Patroni's keys in ZooKeeper with Apache Curator: one {@link CuratorCache} (a persistent
 * recursive watch, ZooKeeper 3.6 and later) on {@code /<namespace>/<scope>}. Every event recomputes
 * the {@link DcsState} from the cache, and {@code changes} hears only of a state that differs from
 * the last one it heard of — so the WAL position each member rewrites every loop, and Patroni's
 * {@code /status} and {@code /sync} keys, never reach it. Events come in ZooKeeper's order, on
 * Curator's event thread.
 *
 * <p>Without a ZooKeeper session (suspended: a frozen or stopped ZooKeeper; lost: the session
 * expired) the state is {@link DcsState#DISCONNECTED}: Patroxy routes by polling only. The watch
 * never blocks start-up: an unreachable ZooKeeper is tried again forever, in the background.
 */
public final class ZooKeeperWatch implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ZooKeeperWatch.class);

    /** ZooKeeper notices a frozen server after 2/3 of this; the client then connects again. */
    static final int SESSION_TIMEOUT_MS = 10_000;
    static final int CONNECTION_TIMEOUT_MS = 3_000;

    private final DcsSettings settings;
    private final String leaderPath;
    private final String membersPath;
    private final Consumer<DcsState> changes;
    private final CuratorFramework client;
    private final CuratorCache cache;
    private volatile boolean connected;
    private boolean initialized; // guarded by this
    private DcsState last = DcsState.DISCONNECTED; // guarded by this

    private ZooKeeperWatch(DcsSettings settings, Consumer<DcsState> changes) {
        this.settings = settings;
        this.leaderPath = settings.clusterPath() + "/leader";
        this.membersPath = settings.clusterPath() + "/members";
        this.changes = changes;
        ZKClientConfig zk = new ZKClientConfig();
        zk.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false"); // digest auth only, no JAAS lookup
        CuratorFrameworkFactory.Builder builder = CuratorFrameworkFactory.builder()
                .connectString(settings.connect())
                .sessionTimeoutMs(SESSION_TIMEOUT_MS)
                .connectionTimeoutMs(CONNECTION_TIMEOUT_MS)
                .retryPolicy(new RetryForever(1000))
                .zkClientConfig(zk);
        settings.auth().ifPresent(a -> builder.authorization("digest", a.getBytes(StandardCharsets.UTF_8)));
        client = builder.build();
        cache = CuratorCache.build(client, settings.clusterPath());
    }

    /** Starts watching at once, in the background; {@code changes} hears of every new state. */
    public static ZooKeeperWatch start(DcsSettings settings, Consumer<DcsState> changes) {
        ZooKeeperWatch watch = new ZooKeeperWatch(settings, changes);
        watch.client.getConnectionStateListenable().addListener((c, state) -> watch.onConnectionState(state));
        watch.cache.listenable().addListener(CuratorCacheListener.builder()
                .forAll((type, before, after) -> watch.publish())
                .forInitialized(watch::onInitialized)
                .build());
        LOG.infof("DCS: watching Patroni's leader key and members in %s (until connected, and whenever ZooKeeper is"
                + " unreachable: routing by polling only)", settings);
        watch.client.start();
        watch.cache.start();
        return watch;
    }

    /** Whether the watch has a ZooKeeper session now (the metric {@code patroxy_dcs_connected}). */
    public boolean connected() {
        return connected;
    }

    private void onConnectionState(ConnectionState state) {
        switch (state) {
            case CONNECTED, RECONNECTED -> {
                connected = true;
                LOG.infof("DCS: ZooKeeper %s %s: following Patroni's leader key", settings.connect(),
                        state == ConnectionState.CONNECTED ? "connected" : "reconnected");
            }
            case SUSPENDED, LOST -> {
                connected = false;
                LOG.warnf("DCS: ZooKeeper %s %s: routing by polling only until it is back", settings.connect(),
                        state == ConnectionState.SUSPENDED ? "unreachable (connection suspended)" : "session lost");
            }
            case READ_ONLY -> {
                connected = true;
            }
        }
        publish();
    }

    private synchronized void onInitialized() {
        initialized = true;
        publish();
    }

    /** The state now, told if it differs from the last one told. */
    private synchronized void publish() {
        DcsState now = connected && initialized ? read() : DcsState.DISCONNECTED;
        if (Objects.equals(now, last)) {
            return;
        }
        last = now;
        try {
            changes.accept(now);
        } catch (RuntimeException e) {
            LOG.errorf(e, "DCS: acting on %s failed", now);
        }
    }

    private DcsState read() {
        byte[] leader = cache.get(leaderPath).map(ChildData::getData).orElse(null);
        Map<String, byte[]> members = new HashMap<>();
        String prefix = membersPath + "/";
        cache.stream().filter(d -> d.getPath().startsWith(prefix) && d.getPath().indexOf('/', prefix.length()) < 0)
                .forEach(d -> members.put(d.getPath().substring(prefix.length()), d.getData()));
        return DcsState.of(leader, members);
    }

    @Override
    public void close() {
        cache.close();
        client.close();
    }
}
