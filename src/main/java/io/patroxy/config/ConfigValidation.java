package io.patroxy.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;


/**
 * Checks the whole configuration in one place and turns it into the plain settings the
 * features use. Every problem names its key and the bad value; all of them are reported at once.
 */
public final class ConfigValidation {

    private final List<String> problems = new ArrayList<>();

    private ConfigValidation() {
    }

    public record Settings(List<MemberAddress> members, CheckSettings check, ProxySettings proxy) {
    }

    /** @throws InvalidConfigException naming every bad key and value */
    public static Settings validate(PatroxyConfig config) {
        ConfigValidation v = new ConfigValidation();
        List<MemberAddress> members = List.of();
        try {
            members = MemberAddress.parseList(config.members());
        } catch (IllegalArgumentException e) {
            v.problems.add("patroxy.members='" + config.members() + "': " + e.getMessage());
        }
        PatroxyConfig.Check c = config.check();
        v.positive("patroxy.check.interval", c.interval());
        v.positive("patroxy.check.timeout", c.timeout());
        v.positive("patroxy.check.fastinter", c.fastinter());
        v.positive("patroxy.check.downinter", c.downinter());
        if (config.hold().timeout().isNegative()) {
            v.problems.add("patroxy.hold.timeout=" + config.hold().timeout() + ": must not be negative (0 refuses at once)");
        }
        v.atLeast("patroxy.hold.queue", config.hold().queue(), 0);
        v.atLeast("patroxy.check.fall", c.fall(), 1);
        v.atLeast("patroxy.check.rise", c.rise(), 1);
        if (!c.path().startsWith("/")) {
            v.problems.add("patroxy.check.path='" + c.path() + "': must start with '/' (e.g. /primary)");
        }
        if (!c.scheme().equals("http") && !c.scheme().equals("https")) {
            v.problems.add("patroxy.check.scheme='" + c.scheme() + "': must be http or https");
        }
        v.port("patroxy.listen.port", config.listen().port());
        v.port("patroxy.stats.port", config.stats().port());
        v.positive("patroxy.timeout.connect", config.timeout().connect());
        v.positive("patroxy.timeout.client", config.timeout().client());
        v.positive("patroxy.timeout.server", config.timeout().server());
        v.atLeast("patroxy.retries", config.retries(), 0);
        v.atLeast("patroxy.maxconn", config.maxconn(), 1);
        if (config.shutdown().grace().isNegative()) {
            v.problems.add("patroxy.shutdown.grace=" + config.shutdown().grace() + ": must not be negative");
        }
        if (!v.problems.isEmpty()) {
            throw new InvalidConfigException(v.problems);
        }
        return new Settings(members,
                new CheckSettings(c.interval(), c.fall(), c.rise(), c.timeout(), c.path(), c.scheme(),
                        c.fastinter(), c.downinter()),
                new ProxySettings(config.listen().host(), config.listen().port(), config.timeout().connect(),
                        config.retries(), config.timeout().client(), config.timeout().server(),
                        config.maxconn(), config.shutdown().grace(), config.hold().timeout(), config.hold().queue()));
    }

    private void positive(String key, Duration value) {
        if (value.isZero() || value.isNegative()) {
            problems.add(key + "=" + value + ": must be a positive duration (e.g. 3s, 500ms)");
        }
    }

    private void atLeast(String key, int value, int min) {
        if (value < min) {
            problems.add(key + "=" + value + ": must be at least " + min);
        }
    }

    private void port(String key, int value) {
        if (value < 0 || value > 65535) {
            problems.add(key + "=" + value + ": must be a TCP port, 1-65535 (0 picks a free one)");
        }
    }

    /** Start-up stops with this: one message, every bad key and value in it. */
    public static final class InvalidConfigException extends IllegalArgumentException {
        InvalidConfigException(List<String> problems) {
            super("Invalid Patroxy configuration: " + String.join("; ", problems));
        }
    }
}
