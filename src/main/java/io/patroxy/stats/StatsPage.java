package io.patroxy.stats;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import io.quarkus.qute.Engine;
import io.quarkus.qute.HtmlEscaper;
import io.quarkus.qute.ReflectionValueResolver;
import io.quarkus.qute.Template;
import io.quarkus.qute.Variant;

/**
 * The HTML stats page, rendered by Qute from {@code templates/stats.html}. Plain Java so it is
 * tested without Quarkus; the engine escapes every value for HTML.
 */
public final class StatsPage {

    static final String TEMPLATE = "templates/stats.html";

    private final Template template;

    public StatsPage() {
        Engine engine = Engine.builder()
                .addDefaults()
                .addValueResolver(new ReflectionValueResolver())
                .addResultMapper(new HtmlEscaper(List.of(Variant.TEXT_HTML)))
                .removeStandaloneLines(true)
                .build();
        template = engine.parse(load(TEMPLATE), Variant.forContentType(Variant.TEXT_HTML), TEMPLATE);
    }

    /** @param refresh how often the browser reloads the page; zero or negative: never */
    public String render(StatsSnapshot snapshot, Duration refresh) {
        return template.data("s", snapshot)
                .data("refresh", refresh.isNegative() || refresh.isZero() ? 0 : Math.max(1, refresh.toSeconds()))
                .render();
    }

    private static String load(String resource) {
        try (InputStream in = StatsPage.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
