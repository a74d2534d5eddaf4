package io.patroxy.health;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.JacksonCodec;

/**
 * Lenient reads of one field of Patroni's JSON (its REST answers, its DCS nodes), on Vert.x's JSON:
 * a field that is missing or of another type gives the default, never an exception. A number or a
 * boolean where a string is expected reads as its text, a string where a number is expected as the
 * number it spells, as Jackson's {@code asText}/{@code asLong} read them.
 *
 * <p>Patroxy's one JSON codec is named here: Vert.x's {@link JacksonCodec} (Jackson's streaming core), not
 * {@code Json.CODEC}, which Quarkus backs with Jackson's data binding whenever that is on the class path (as
 * it is in the tests): so the tests exercise the codec production runs.
 */
public final class JsonFields {

    private static final JacksonCodec CODEC = new JacksonCodec();

    private JsonFields() {
    }

    /** Any JSON text: a JsonObject, a JsonArray, a String, a Number, a Boolean or null. */
    public static Object parse(String text) throws DecodeException {
        return CODEC.fromString(text);
    }

    /** JsonObject, JsonArray, Map, List, String, Number, Boolean or null, as compact JSON text. */
    public static String encode(Object value) {
        return CODEC.toString(value, false);
    }

    /** {@code body} as a JSON object; null when it is empty, not JSON, or JSON of another shape. */
    public static JsonObject object(String body) {
        if (body == null || body.isBlank()) {
            return null;
        }
        try {
            return parse(body) instanceof JsonObject o ? o : null;
        } catch (DecodeException e) {
            return null;
        }
    }

    public static String text(JsonObject o, String key, String otherwise) {
        Object v = o == null ? null : o.getValue(key);
        return v instanceof String || v instanceof Number || v instanceof Boolean ? v.toString() : otherwise;
    }

    public static long number(JsonObject o, String key, long otherwise) {
        Object v = o == null ? null : o.getValue(key);
        if (v instanceof Number n) {
            return n.longValue();
        }
        if (v instanceof String s) {
            try {
                return Long.parseLong(s.trim());
            } catch (NumberFormatException e) {
                return otherwise;
            }
        }
        return otherwise;
    }

    public static boolean flag(JsonObject o, String key, boolean otherwise) {
        Object v = o == null ? null : o.getValue(key);
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof Number n) {
            return n.longValue() != 0;
        }
        if (v instanceof String s && (s.trim().equalsIgnoreCase("true") || s.trim().equalsIgnoreCase("false"))) {
            return Boolean.parseBoolean(s.trim());
        }
        return otherwise;
    }

    /** The object under {@code key}; null when there is none. */
    public static JsonObject child(JsonObject o, String key) {
        Object v = o == null ? null : o.getValue(key);
        return v instanceof JsonObject j ? j : null;
    }
}
