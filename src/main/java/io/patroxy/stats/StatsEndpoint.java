package io.patroxy.stats;

import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;


import io.micrometer.core.instrument.MeterRegistry;
import io.patroxy.config.PatroxyConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Quarkus glue of the stats listener, kept thin: once the proxy has started ({@link ProxyStarted}), follows
 * each listener ({@link ListenerStats}: its leader or backend history) and binds the metrics; serves the page, CSV and JSON
 * on Quarkus' HTTP server, and guards everything but the health probes (and the admin API, which
 * has its own credentials: {@link AdminEndpoint}) with basic auth when {@code patroxy.stats.auth} is set.
 *
 * <p>Routes, as HAProxy's {@code stats uri /}: {@code /}, {@code /;norefresh}, {@code /;csv},
 * {@code /;json} (options after {@code ;} are part of the path, not a query), and
 * {@code /stats.csv}, {@code /stats.json}.
 */
@Singleton
public class StatsEndpoint {

    private static final Logger LOG = Logger.getLogger(StatsEndpoint.class);
    /** Before every other route, the Prometheus and health ones included. */
    private static final int AUTH_ORDER = -10_000;

    private record Running(List<ListenerStats> listeners, StatsSnapshots.Info info, PatroxyMetrics metrics) {
    }

    private final PatroxyConfig config;
    private final MeterRegistry registry;
    private final String version;
    private final Optional<BasicAuth> auth;
    private final Clock clock = Clock.systemUTC();
    private volatile Running running;

    private final AdminEndpoint admin;

    public StatsEndpoint(PatroxyConfig config, MeterRegistry registry, AdminEndpoint admin,
            @ConfigProperty(name = "quarkus.application.version", defaultValue = "unknown") String version) {
        this.admin = admin;
        this.config = config;
        this.registry = registry;
        this.version = version;
        this.auth = BasicAuth.forStats(config.stats().auth());
    }

    /** The proxy has started: its listeners' cluster views and sessions are there to be shown. */
    void onStart(@Observes ProxyStarted proxy) {
        List<ListenerStats> listeners = proxy.listeners().stream().map(l -> ListenerStats.follow(l, clock)).toList();
        PatroxyMetrics metrics = new PatroxyMetrics(listeners, clock, version);
        metrics.bindTo(registry); // the FunctionCounters hold `metrics` weakly: `running` keeps it
        if (proxy.tls() != null) {
            new TlsMetrics(proxy.tls()).bindTo(registry);
        }
        running = new Running(listeners, new StatsSnapshots.Info(version, ProcessHandle.current().pid(), clock.instant()),
                metrics);
        LOG.infof("stats on http://%s:%d/ (auth %s, refresh %s)", config.stats().host(), config.stats().port(),
                auth.isPresent() ? "on" : "off", config.stats().refresh());
    }

    /** The listeners as they started, in configuration order; empty before. */
    List<ListenerStats> listeners() {
        Running r = running;
        return r == null ? List.of() : r.listeners();
    }

    void onStop(@Observes ShutdownEvent event) {
        Running r = running;
        if (r != null) {
            r.metrics().close();
        }
    }

    void routes(@Observes Router router) {
        auth.ifPresent(a -> router.route().order(AUTH_ORDER).handler(ctx -> {
            if (ctx.normalizedPath().startsWith("/q/health") || admin.owns(ctx.normalizedPath()) || a.accepts(ctx.request().getHeader(HttpHeaders.AUTHORIZATION))) {
                ctx.next();
            } else {
                ctx.response().setStatusCode(401).putHeader("WWW-Authenticate", BasicAuth.STATS_CHALLENGE)
                        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8").end("401 Unauthorized\n");
            }
        }));
        router.routeWithRegex(HttpMethod.GET, "^/(;[a-z]+)*$").handler(this::haproxyStyle);
        router.route(HttpMethod.GET, "/stats.csv").handler(ctx -> csv(ctx, "text/csv; charset=utf-8"));
        router.route(HttpMethod.GET, "/stats.json").handler(this::json);
    }

    private void haproxyStyle(RoutingContext ctx) {
        Set<String> options = Arrays.stream(ctx.normalizedPath().substring(1).split(";"))
                .filter(o -> !o.isEmpty()).collect(Collectors.toSet());
        if (options.contains("csv")) {
            csv(ctx, "text/plain; charset=utf-8"); // as HAProxy answers /;csv
        } else if (options.contains("json")) {
            json(ctx);
        } else {
            Duration refresh = options.contains("norefresh") ? Duration.ZERO : config.stats().refresh();
            snapshot(ctx).ifPresent(s -> send(ctx, "text/html; charset=utf-8", Page.INSTANCE.render(s, refresh)));
        }
    }

    private void csv(RoutingContext ctx, String contentType) {
        snapshot(ctx).ifPresent(s -> send(ctx, contentType, HaproxyCsv.write(s)));
    }

    private void json(RoutingContext ctx) {
        snapshot(ctx).ifPresent(s -> send(ctx, "application/json", StatsJson.write(s)));
    }

    private Optional<StatsSnapshot> snapshot(RoutingContext ctx) {
        Running r = running;
        if (r == null) {
            ctx.response().setStatusCode(503).putHeader(HttpHeaders.RETRY_AFTER, "1").end("Patroxy is starting\n");
            return Optional.empty();
        }
        return Optional.of(StatsSnapshots.capture(r.info(), r.listeners(), clock.instant()));
    }

    /** The HTML page's template is parsed on the first request for it: most Patroxys are only scraped. */
    private static final class Page {
        static final StatsPage INSTANCE = new StatsPage();
    }

    private static void send(RoutingContext ctx, String contentType, String body) {
        ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, contentType)
                .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache").end(body);
    }
}
