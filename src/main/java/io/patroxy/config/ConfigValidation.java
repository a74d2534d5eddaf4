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

    /**
     * @param check     the shared check settings, with the default listener's path
     * @param proxy     the shared relay settings, on the default listener's address
     * @param listeners one or more, in configuration order
     * @param warnings  what start-up should log (not errors)
     * @param dcs       the ZooKeeper watch, when {@code patroxy.dcs.zookeeper} is set
     */
    public record Settings(List<MemberAddress> members, CheckSettings check, ProxySettings proxy,
            List<ListenerSettings> listeners, List<String> warnings, boolean discovery, TlsSettings tls,
            java.util.Optional<DcsSettings> dcs) {
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
        String path = c.path().orElse("/primary");
        if (!path.startsWith("/")) {
            v.problems.add("patroxy.check.path='" + path + "': must start with '/' (e.g. /primary)");
        }
        if (!c.scheme().equals("http") && !c.scheme().equals("https")) {
            v.problems.add("patroxy.check.scheme='" + c.scheme() + "': must be http or https");
        }
        int listenPort = config.listen().port().orElse(5432);
        v.port("patroxy.listen.port", listenPort);
        v.port("patroxy.stats.port", config.stats().port());
        v.positive("patroxy.timeout.connect", config.timeout().connect());
        v.positive("patroxy.timeout.client", config.timeout().client());
        v.positive("patroxy.timeout.server", config.timeout().server());
        v.positive("patroxy.timeout.startup", config.timeout().startup());
        v.atLeast("patroxy.retries", config.retries(), 0);
        v.atLeast("patroxy.maxconn", config.maxconn(), 1);
        v.atLeast("patroxy.event-loops", config.eventLoops(), 0);
        if (config.shutdown().grace().isNegative()) {
            v.problems.add("patroxy.shutdown.grace=" + config.shutdown().grace() + ": must not be negative");
        }
        List<ListenerSpec> specs = List.of();
        List<String> warnings = new ArrayList<>();
        if (config.listeners().isPresent()) {
            try {
                specs = ListenerSpec.parseList(config.listeners().get());
            } catch (IllegalArgumentException e) {
                v.problems.add("patroxy.listeners: " + e.getMessage());
            }
            if (c.path().isPresent()) {
                v.problems.add("patroxy.check.path='" + path + "' and patroxy.listeners are both set: each listener's role"
                        + " names its endpoint; remove patroxy.check.path");
            }
            if (config.listen().port().isPresent()) {
                warnings.add("patroxy.listen.port=" + listenPort + " is ignored: patroxy.listeners sets the ports");
            }
            boolean anyLeaderRole = specs.stream().anyMatch(l -> l.role().leaderRole());
            specs.stream().filter(ListenerSpec::fallback).filter(l -> !anyLeaderRole).forEach(l -> v.problems.add(
                    "patroxy.listeners: " + l.name() + " has fallback=on but no listener has role primary or leader to fall back to"));
        }
        adminCredentials(v.problems, config.admin());
        if (!config.discovery().equals("none") && !config.discovery().equals("cluster")) {
            v.problems.add("patroxy.discovery='" + config.discovery() + "': must be none or cluster");
        }
        TlsSettings tls = new TlsValidation(v.problems, warnings).validate(config.tls(), config.server().tls());
        java.util.Optional<DcsSettings> dcs = v.dcs(config.dcs());
        if (!v.problems.isEmpty()) {
            throw new InvalidConfigException(v.problems);
        }
        CheckSettings check = new CheckSettings(c.interval(), c.fall(), c.rise(), c.timeout(), path, c.scheme(),
                c.fastinter(), c.downinter());
        ProxySettings proxy = new ProxySettings(config.listen().host(), listenPort, config.timeout().connect(),
                config.retries(), config.timeout().client(), config.timeout().server(),
                config.maxconn(), config.shutdown().grace(), config.hold().timeout(), config.hold().queue(),
                config.timeout().startup());
        List<ListenerSettings> listeners = new ArrayList<>();
        if (specs.isEmpty()) { // today's behaviour: one leader listener checking patroxy.check.path
            ListenerSpec only = new ListenerSpec(config.stats().name(), java.util.Optional.empty(), listenPort, Role.PRIMARY,
                    "", ListenerSpec.Balance.LEASTCONN, false, true, java.util.Optional.empty(), java.util.Optional.empty());
            listeners.add(new ListenerSettings(only, check, proxy));
        }
        for (ListenerSpec l : specs) {
            CheckSettings lc = new CheckSettings(c.interval(), c.fall(), c.rise(), c.timeout(), l.checkPath(), c.scheme(),
                    c.fastinter(), c.downinter());
            ProxySettings lp = new ProxySettings(l.host().orElse(config.listen().host()), l.port(), proxy.connectTimeout(),
                    proxy.retries(), proxy.clientTimeout(), proxy.serverTimeout(), l.maxconn().orElse(proxy.maxconn()),
                    proxy.shutdownGrace(), l.hold().orElse(proxy.holdTimeout()), proxy.holdQueue(), proxy.startupTimeout());
            listeners.add(new ListenerSettings(l, lc, lp));
        }
        return new Settings(members, check, proxy, List.copyOf(listeners), List.copyOf(warnings),
                config.discovery().equals("cluster"), tls, dcs);
    }

    /** {@code patroxy.dcs.*}: empty without {@code patroxy.dcs.zookeeper}. The password never enters a message. */
    private java.util.Optional<DcsSettings> dcs(PatroxyConfig.Dcs d) {
        positive("patroxy.dcs.fastinter", d.fastinter());
        String namespace = d.namespace().endsWith("/") && d.namespace().length() > 1
                ? d.namespace().substring(0, d.namespace().length() - 1) : d.namespace();
        if (!namespace.startsWith("/") || namespace.length() < 2) {
            problems.add("patroxy.dcs.namespace='" + d.namespace() + "': must be a ZooKeeper path such as /service");
        }
        d.auth().filter(a -> a.indexOf(':') < 1).ifPresent(a -> problems.add(
                "patroxy.dcs.auth: must be user:password (digest authentication)"));
        String connect = d.zookeeper().map(String::trim).filter(z -> !z.isEmpty()).orElse(null);
        if (connect == null) {
            return java.util.Optional.empty();
        }
        String scope = d.scope().map(String::trim).orElse("");
        if (scope.isEmpty() || scope.contains("/")) {
            problems.add("patroxy.dcs.scope='" + scope + "': Patroni's scope (the cluster name) is required with"
                    + " patroxy.dcs.zookeeper, without '/'");
        }
        return java.util.Optional.of(new DcsSettings(connect, namespace, scope, d.fastinter(), d.auth()));
    }

    /** Both or neither; the password's value never appears in a message. */
    private static void adminCredentials(List<String> problems, PatroxyConfig.Admin admin) {
        boolean user = admin.user().filter(u -> !u.isBlank()).isPresent();
        boolean password = admin.password().filter(p -> !p.isEmpty()).isPresent();
        if (user && !password) {
            problems.add("patroxy.admin.user is set but patroxy.admin.password is not: the admin API needs both (or neither: off)");
        } else if (password && !user) {
            problems.add("patroxy.admin.password is set but patroxy.admin.user is not: the admin API needs both (or neither: off)");
        } else if (user && admin.user().get().contains(":")) {
            problems.add("patroxy.admin.user='" + admin.user().get() + "': must not contain ':' (HTTP basic auth)");
        }
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
