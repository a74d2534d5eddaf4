package io.patroxy.health;

import io.quarkus.rest.client.reactive.Url;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.core.Response;
import org.eclipse.microprofile.rest.client.annotation.ClientHeaderParam;

/**
 * Patroni's REST API as the checks use it. Like HAProxy's checks, each request uses a fresh
 * connection ({@code Connection: close}): a pooled connection to a restarted Patroni would
 * fail once for nothing.
 */
@ClientHeaderParam(name = "Connection", value = "close")
public interface PatroniApi {

    /** GET of a member's health endpoint, e.g. {@code http://127.0.0.2:8008/primary}. */
    @GET
    Uni<Response> get(@Url String url);
}
