package io.patroxy.config;

import java.time.Duration;
import java.util.Optional;

/**
 * Validated settings of the ZooKeeper watch ({@code patroxy.dcs.*}).
 *
 * @param connect   the ZooKeeper connect string
 * @param namespace Patroni's namespace, "/service" by default, without a trailing slash
 * @param scope     Patroni's scope
 * @param auth      digest {@code user:password}, if any: {@link #toString()} never shows it
 */
public record DcsSettings(String connect, String namespace, String scope, Duration fastinter, Optional<String> auth) {

    /** {@code /service/my_cluster}: the node under which Patroni keeps this cluster's keys. */
    public String clusterPath() {
        return namespace + "/" + scope;
    }

    @Override
    public String toString() {
        return "zookeeper " + connect + ", " + clusterPath() + ", fastinter " + fastinter
                + auth.map(a -> ", digest auth as " + a.substring(0, a.indexOf(':'))).orElse("");
    }
}
