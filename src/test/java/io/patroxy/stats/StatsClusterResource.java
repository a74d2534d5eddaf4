package io.patroxy.stats;

import java.io.IOException;
import java.util.Map;

import io.patroxy.health.StubPatroni;
import io.patroxy.proxy.Pg;
import io.patroxy.proxy.StubServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Two stub members for the stats tests: Patroni APIs on loopback (pg0 answers 200 with role master,
 * pg1 503 with role replica; switchable) and PostgreSQL stubs (startup answered, then echo); checks every 200 ms.
 */
public class StatsClusterResource implements QuarkusTestResourceLifecycleManager {

    static StubPatroni api0;
    static StubPatroni api1;
    static StubServer pg0;
    static StubServer pg1;

    @Override
    public Map<String, String> start() {
        try {
            api0 = new StubPatroni();
            api1 = new StubPatroni();
            pg0 = new StubServer(Pg.server(StubServer.ECHO));
            pg1 = new StubServer(Pg.server(StubServer.ECHO));
        } catch (IOException e) {
            throw new IllegalStateException("cannot start stub members", e);
        }
        api0.mode(StubPatroni.Mode.PRIMARY);
        api1.mode(StubPatroni.Mode.REPLICA);
        return Map.of(
                "patroxy.members", "pg0=127.0.0.1:" + pg0.port() + ":" + api0.port()
                        + ",pg1=127.0.0.1:" + pg1.port() + ":" + api1.port(),
                "patroxy.check.interval", "200ms",
                "patroxy.check.timeout", "500ms");
    }

    @Override
    public void stop() {
        for (AutoCloseable c : new AutoCloseable[] {api0, api1, pg0, pg1}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // best effort at the end of the run
            }
        }
    }
}
