package io.patroxy.health;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeoutException;

import io.vertx.core.json.JsonObject;

/** Turns what an HTTP check got (a status and body, or an error) into a {@link CheckOutcome}. */
public final class CheckOutcomes {

    private CheckOutcomes() {
    }

    /** An HTTP answer: passes only on 200. */
    public static CheckOutcome fromResponse(int status, String body, Duration took, Instant at) {
        return new CheckOutcome(status == 200 ? CheckStatus.L7OK : CheckStatus.L7STS, status, took,
                "HTTP " + status, parsePatroni(body), at);
    }

    /** Patroni's JSON ({@code role}, {@code timeline}, {@code state}); UNKNOWN if it is not that. */
    public static PatroniStatus parsePatroni(String body) {
        JsonObject node = JsonFields.object(body);
        if (node == null) {
            return PatroniStatus.UNKNOWN;
        }
        String role = JsonFields.text(node, "role", null);
        if ("replica".equals(role) && JsonFields.flag(node, "sync_standby", false)) {
            role = "sync_standby"; // Patroni flags the synchronous standby beside the role
        }
        return new PatroniStatus(role, JsonFields.number(node, "timeline", -1), JsonFields.text(node, "state", null),
                JsonFields.text(JsonFields.child(node, "patroni"), "scope", null));
    }

    /** A failed exchange, classified as HAProxy classifies it. */
    public static CheckOutcome fromError(Throwable error, Duration took, Instant at) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            String type = t.getClass().getName();
            String message = String.valueOf(t.getMessage());
            if (type.equals("io.netty.channel.ConnectTimeoutException")) {
                return failure(CheckStatus.L4TOUT, "connect timeout", took, at);
            }
            if (t instanceof ConnectException) {
                return failure(CheckStatus.L4CON, message.toLowerCase().contains("refused") ? "connection refused" : message, took, at);
            }
            if (t instanceof NoRouteToHostException || t instanceof UnknownHostException) {
                return failure(CheckStatus.L4CON, message, took, at);
            }
            if (t instanceof TimeoutException || t instanceof io.smallrye.mutiny.TimeoutException
                    || type.endsWith("TimeoutException")) {
                return failure(CheckStatus.L7TOUT, "no answer within the check timeout", took, at);
            }
            if (type.startsWith("io.netty.handler.codec.") || message.contains("Invalid HTTP")
                    || message.contains("invalid version format")) {
                return failure(CheckStatus.L7RSP, "not an HTTP response: " + message, took, at);
            }
        }
        return failure(CheckStatus.SOCKERR, String.valueOf(error), took, at);
    }

    private static CheckOutcome failure(CheckStatus status, String detail, Duration took, Instant at) {
        return new CheckOutcome(status, -1, took, detail, PatroniStatus.UNKNOWN, at);
    }
}
