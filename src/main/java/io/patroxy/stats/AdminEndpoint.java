package io.patroxy.stats;

import java.util.List;
import java.util.Optional;

import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.jboss.logging.Logger;


import io.patroxy.config.PatroxyConfig;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * Quarkus glue of the admin API ({@link AdminApi}) on the stats port, under {@code /admin}: off
 * (404, saying how to turn it on) unless {@code patroxy.admin.user} and {@code patroxy.admin.password}
 * are set. It has its own credentials, so the stats page's basic auth does not guard it.
 */
@Singleton
public class AdminEndpoint {

    private static final Logger LOG = Logger.getLogger(AdminEndpoint.class);
    /** A state change is a few dozen bytes. */
    static final int BODY_LIMIT = 4096;

    private final Optional<AdminApi> api;
    private volatile List<ProxyStarted.Listener> listeners = List.of();

    public AdminEndpoint(PatroxyConfig config) {
        this.api = BasicAuth.forAdmin(config.admin()).map(auth -> new AdminApi(auth, () -> listeners));
    }

    void onStart(@Observes ProxyStarted proxy) {
        listeners = proxy.listeners();
        LOG.infof("admin API %s", api.isPresent() ? "on at /admin (its own basic auth)" : "off (patroxy.admin.user and patroxy.admin.password unset)");
    }

    /** Whether {@code path} is the admin API's while it is on: the stats page's basic auth leaves it to its own. */
    boolean owns(String path) {
        return api.isPresent() && (path.equals(AdminApi.PREFIX) || path.startsWith(AdminApi.PREFIX + "/"));
    }

    void routes(@Observes Router router) {
        String paths = "^" + AdminApi.PREFIX + "(/.*)?$";
        if (api.isEmpty()) {
            router.routeWithRegex(paths).handler(ctx -> send(ctx, new AdminApi.Response(404,
                    "{\"error\":\"the admin API is off: set patroxy.admin.user and patroxy.admin.password\"}", null, false)));
            return;
        }
        router.routeWithRegex(paths).handler(BodyHandler.create().setBodyLimit(BODY_LIMIT));
        router.routeWithRegex(paths).handler(ctx -> {
            var req = ctx.request();
            String remote = req.remoteAddress() == null ? "?" : req.remoteAddress().hostAddress();
            send(ctx, api.get().handle(new AdminApi.Request(req.method().name(), ctx.normalizedPath(),
                    req.getHeader(HttpHeaders.CONTENT_TYPE), req.getHeader(HttpHeaders.ORIGIN), req.getHeader(HttpHeaders.HOST),
                    req.getHeader(HttpHeaders.AUTHORIZATION), ctx.body().asString(), remote)));
        });
    }

    private static void send(RoutingContext ctx, AdminApi.Response r) {
        var response = ctx.response().setStatusCode(r.status())
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .putHeader(HttpHeaders.CACHE_CONTROL, "no-store");
        if (r.allow() != null) {
            response.putHeader(HttpHeaders.ALLOW, r.allow());
        }
        if (r.challenge()) {
            response.putHeader("WWW-Authenticate", BasicAuth.ADMIN_CHALLENGE);
        }
        response.end(r.json() + "\n");
    }
}
