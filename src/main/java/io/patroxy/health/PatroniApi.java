package io.patroxy.health;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;

/**
 * Patroni's REST API as the checks use it: a GET on Vert.x's own HTTP client (the event loops
 * Quarkus already runs), nothing more: the REST client extension it replaces loaded ~550 classes
 * more (~15 MB of RSS), made the first check after a start slower and wrapped every check in
 * context propagation (docs/performance.md).
 * Like HAProxy's checks, each request uses a fresh connection ({@code Connection: close}): a pooled
 * connection to a restarted Patroni would fail once for nothing.
 */
public final class PatroniApi implements AutoCloseable {

    /** What a member answered: the status and the body (at most {@link #MAX_BODY} bytes of it, as UTF-8). */
    public record Answer(int status, String body) {
    }

    /** Patroni's answers are a few hundred bytes; more is kept no longer (the status still decides). */
    static final int MAX_BODY = 64 * 1024;

    private final Vertx vertx;
    private final HttpClient client;

    public PatroniApi(Vertx vertx, Duration connectTimeout) {
        this.vertx = vertx;
        this.client = vertx.httpClientBuilder()
                .with(new HttpClientOptions()
                        .setConnectTimeout((int) Math.max(1, connectTimeout.toMillis()))
                        .setKeepAlive(false))
                // a reset reaches the check's request (SOCKERR); without this Vert.x would also log it as an ERROR
                .withConnectHandler(connection -> connection.exceptionHandler(e -> { }))
                .build();
    }

    /**
     * GET {@code url}; the answer, or a failure (connect, reset, not HTTP, or a {@link TimeoutException}
     * when the whole exchange took longer than {@code timeout}, after which the request is reset:
     * never two in flight for one member).
     */
    public CompletionStage<Answer> get(String url, Duration timeout) {
        CompletableFuture<Answer> result = new CompletableFuture<>();
        AtomicReference<HttpClientRequest> request = new AtomicReference<>();
        long timer = vertx.setTimer(Math.max(1, timeout.toMillis()),
                t -> result.completeExceptionally(new TimeoutException("no answer within " + timeout.toMillis() + " ms")));
        result.whenComplete((answer, error) -> {
            vertx.cancelTimer(timer);
            HttpClientRequest r = request.get();
            if (error != null && r != null) {
                r.reset(); // gives the connection up, whatever state the exchange is in
            }
        });
        try {
            client.request(new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(url)
                    .putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE))
                    .compose(r -> {
                        request.set(r);
                        if (result.isDone()) {
                            r.reset(); // timed out before the connection was even made
                        }
                        return r.send();
                    })
                    .compose(PatroniApi::read)
                    .onComplete(ar -> {
                        if (ar.succeeded()) {
                            result.complete(ar.result());
                        } else {
                            result.completeExceptionally(ar.cause());
                        }
                    });
        } catch (RuntimeException e) { // a malformed URL, say
            result.completeExceptionally(e);
        }
        return result;
    }

    /** The status and up to {@link #MAX_BODY} bytes of the body, once the response has ended. */
    private static Future<Answer> read(HttpClientResponse response) {
        Promise<Answer> answer = Promise.promise();
        Buffer body = Buffer.buffer();
        response.handler(chunk -> {
            int room = MAX_BODY - body.length();
            if (room > 0) {
                body.appendBuffer(chunk, 0, Math.min(room, chunk.length()));
            }
        });
        response.exceptionHandler(answer::tryFail);
        response.endHandler(v -> answer.tryComplete(new Answer(response.statusCode(),
                body.length() == 0 ? null : body.toString(StandardCharsets.UTF_8))));
        return answer.future();
    }

    @Override
    public void close() {
        client.close();
    }
}
