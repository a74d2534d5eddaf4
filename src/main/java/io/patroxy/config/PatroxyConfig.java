package io.patroxy.config;

import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * The one configuration root. Defaults reproduce the seeds' haproxy.cfg:
 * {@code inter 3s fall 3 rise 2}, {@code timeout check 5s}, {@code timeout connect 4s},
 * {@code retries 3}, {@code timeout client/server 30m}, {@code maxconn 100}.
 * Every key can be given as an environment variable ({@code patroxy.check.fall} → {@code PATROXY_CHECK_FALL}).
 * Values are checked as a whole by {@link ConfigValidation}.
 */
@ConfigMapping(prefix = "patroxy")
public interface PatroxyConfig {

    Listen listen();

    /**
     * {@code NAME=[HOST:]PORT:ROLE[?QUERY][;OPTION=VALUE...]}, comma-separated (see {@link ListenerSpec});
     * unset: one listener named {@code patroxy.stats.name} on {@code patroxy.listen.port} checking
     * {@code patroxy.check.path}.
     */
    Optional<String> listeners();

    Stats stats();

    /** Comma-separated {@code [name=]host[:pgport[:apiport]]}; parsed by {@link MemberAddress#parseList}. */
    String members();

    Check check();

    /**
     * {@code cluster}: {@code patroxy.members} are seeds, and members are learnt from Patroni's
     * {@code /cluster}; {@code none} (the default): exactly the configured members.
     */
    @io.smallrye.config.WithDefault("none")
    String discovery();

    Timeout timeout();

    /** How many more times a failed connection to the leader is tried (HAProxy's {@code retries}). */
    @WithDefault("3")
    int retries();

    /** Most client sessions at once; further clients are refused (HAProxy's {@code maxconn}). */
    @WithDefault("100")
    int maxconn();

    /**
     * Netty event loops (threads) for all sessions and listeners; 0: half the cores, at least one,
     * since PostgreSQL and the clients usually share the machine (docs/performance.md).
     */
    @WithDefault("0")
    int eventLoops();

    Shutdown shutdown();

    Health health();

    Hold hold();

    /** TLS with clients: passthrough (the default), terminate or require (docs/tls.md). */
    Tls tls();

    /** The leg to PostgreSQL. */
    Server server();

    interface Tls {
        /**
         * {@code passthrough}: a client's TLS is the server's, relayed opaquely; {@code terminate}:
         * Patroxy answers 'S' with its own certificate; {@code require}: terminate, and refuse a
         * client that does not ask for TLS.
         */
        @WithDefault("passthrough")
        String mode();

        /** PEM certificate chain Patroxy shows clients; unset: an ephemeral self-signed one made at start. */
        Optional<String> certFile();

        /** PEM private key of {@code cert-file} (PKCS#8, or PKCS#1 / SEC1 unencrypted). */
        Optional<String> keyFile();

        /** PEM CA certificates: when set, clients must present a certificate signed by one of them. */
        Optional<String> caFile();

        @WithDefault("TLSv1.2,TLSv1.3")
        String protocols();

        /** Cipher suites (JDK names), comma-separated; unset: the TLS library's defaults. */
        Optional<String> ciphers();
    }

    interface Server {
        ServerTls tls();
    }

    interface ServerTls {
        /** {@code disable|prefer|require|verify-ca|verify-full}, libpq's sslmode for Patroxy's own leg when terminating. */
        @WithDefault("prefer")
        String mode();

        /** PEM CA certificates for {@code verify-ca} and {@code verify-full}. */
        Optional<String> caFile();
    }

    Dcs dcs();

    /**
     * The optional watch of Patroni's DCS (ZooKeeper), configured like Patroni's own
     * {@code zookeeper.hosts}, {@code namespace} and {@code scope}. Unset: polling only.
     */
    interface Dcs {
        /** ZooKeeper connect string, e.g. {@code zk1:2181,zk2:2181}; unset: no watch. */
        Optional<String> zookeeper();

        /** Patroni's {@code namespace}. */
        @WithDefault("/service")
        String namespace();

        /** Patroni's {@code scope} (the cluster name); required with {@code zookeeper}. */
        Optional<String> scope();

        /** After the leader key changes, every member of every listener is checked at this pace. */
        @WithDefault("50ms")
        Duration fastinter();

        /** ZooKeeper digest authentication, {@code user:password}; never logged. */
        Optional<String> auth();
    }

    Admin admin();

    /**
     * The admin API on the stats port ({@code /admin}): off unless both are set; separate from
     * {@code patroxy.stats.auth}. The password is never logged.
     */
    interface Admin {
        Optional<String> user();

        Optional<String> password();
    }

    interface Hold {
        /**
         * While no leader is known (or it cannot be reached), how long a new client waits before it
         * is refused. Just above Patroni's ttl of 30 s: how long a hard-killed leader's lock lives.
         */
        @WithDefault("35s")
        Duration timeout();

        /** Most clients waiting at once; more are refused at once. */
        @WithDefault("100")
        int queue();
    }

    interface Listen {
        @WithDefault("0.0.0.0")
        String host();

        /** 5432 when unset; ignored (with a warning) when {@code patroxy.listeners} is set. */
        Optional<Integer> port();
    }

    interface Stats {
        @WithDefault("0.0.0.0")
        String host();

        @WithDefault("7000")
        int port();

        /** {@code user:password} for the stats page and /metrics (HAProxy's {@code stats auth}); unset: open. */
        Optional<String> auth();

        /** How often the stats page reloads itself (HAProxy's {@code stats refresh}); 0 never. */
        @WithDefault("5s")
        Duration refresh();

        /** The proxy's name in the CSV's {@code pxname} (the seeds' {@code listen postgres}). */
        @WithDefault("postgres")
        String name();
    }

    interface Check {
        /** Pause between the end of one check of a member and the start of the next (HAProxy's {@code inter}). */
        @WithDefault("3s")
        Duration interval();

        @WithDefault("3")
        int fall();

        @WithDefault("2")
        int rise();

        /** A check passes only on HTTP 200 within this time (HAProxy's {@code timeout check}). */
        @WithDefault("5s")
        Duration timeout();

        /**
         * Patroni REST API endpoint that answers 200 on the member to route to; {@code /primary}
         * when unset. Only without {@code patroxy.listeners}, whose roles name their endpoints.
         */
        Optional<String> path();

        @WithDefault("http")
        String scheme();

        /**
         * HAProxy's {@code fastinter}, with Patroxy's rule on top: while no leader is known or any
         * member is in transition (going up or down), every member is checked at this pace.
         */
        @WithDefault("500ms")
        Duration fastinter();

        /**
         * HAProxy's {@code downinter}: the pace for DOWN members while a leader is known. Faster than
         * {@code interval} on purpose: a healthy replica is DOWN (it fails {@code /primary}), and when
         * Patroni promotes it, new sessions should reach it within a second of its first 200.
         */
        @WithDefault("500ms")
        Duration downinter();
    }

    interface Timeout {
        @WithDefault("4s")
        Duration connect();

        /** Client-side inactivity (HAProxy's {@code timeout client}). */
        @WithDefault("30m")
        Duration client();

        /** Server-side inactivity (HAProxy's {@code timeout server}). */
        @WithDefault("30m")
        Duration server();

        /**
         * How long a new client may take to send its first messages, up to its StartupMessage
         * (PostgreSQL's {@code authentication_timeout}, 60 s, bounds the same wait).
         */
        @WithDefault("60s")
        Duration startup();
    }

    interface Health {
        /** /q/health/ready answers UP only while a leader is known. */
        @WithDefault("true")
        boolean readyRequiresLeader();
    }

    interface Shutdown {
        /** On SIGTERM: how long open sessions may go on after Patroxy stops accepting. */
        @WithDefault("10s")
        Duration grace();
    }
}
