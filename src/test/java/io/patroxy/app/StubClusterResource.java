package io.patroxy.app;

import java.util.Map;

import io.patroxy.health.StubPatroni;
import io.patroxy.proxy.Pg;
import io.patroxy.proxy.StubServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Two stub members for a whole @QuarkusTest class: Patroni APIs on loopback (pg0 answers 200 with
 * role master, pg1 503 with role replica; switchable) and PostgreSQL stubs (startup answered, then
 * echo); checks every 200 ms, a hold of 1 s.
 */
public class StubClusterResource implements QuarkusTestResourceLifecycleManager {

    public static StubPatroni api0;
    public static StubPatroni api1;
    public static StubServer pg0;
    public static StubServer pg1;

    /** interval + timeout: a hung member is DOWN within fall × this. */
    static final long CHECK_INTERVAL_MS = 200;
    static final long CHECK_TIMEOUT_MS = 500;

    @Override
    public Map<String, String> start() {
        try {
            api0 = new StubPatroni();
            api1 = new StubPatroni();
            pg0 = new StubServer(Pg.server(StubServer.ECHO));
            pg1 = new StubServer(Pg.server(StubServer.ECHO));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot start stub members", e);
        }
        api0.mode(StubPatroni.Mode.PRIMARY);
        api1.mode(StubPatroni.Mode.REPLICA);
        return Map.of(
                "patroxy.members", "pg0=127.0.0.1:" + pg0.port() + ":" + api0.port()
                        + ",pg1=127.0.0.1:" + pg1.port() + ":" + api1.port(),
                "patroxy.check.interval", CHECK_INTERVAL_MS + "ms",
                "patroxy.check.timeout", CHECK_TIMEOUT_MS + "ms",
                "patroxy.check.fastinter", CHECK_INTERVAL_MS + "ms",
                "patroxy.hold.timeout", "1s");
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
