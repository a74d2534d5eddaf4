package io.patroxy.proxy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.patroxy.cluster.ClusterRegistry;
import io.patroxy.config.MemberAddress;
import io.patroxy.health.CheckOutcome;
import io.patroxy.health.CheckOutcomes;
import io.patroxy.config.ProxySettings;

/** A real ProxyServer on loopback in front of stub servers, with member health driven by hand. */
final class ProxyFixture implements AutoCloseable {

    final ClusterRegistry cluster;
    final SessionRegistry sessions;
    final ProxyServer proxy;
    final HoldQueue holds;
    final InetSocketAddress address;
    final Map<Long, Session> finished = new ConcurrentHashMap<>();

    ProxyFixture(List<MemberAddress> members, ProxySettings settings) {
        this(members, settings, TlsContexts.passthroughDefault());
    }

    /** With Patroxy's TLS as given ({@code patroxy.tls.*}). */
    ProxyFixture(List<MemberAddress> members, ProxySettings settings, TlsContexts tls) {
        cluster = new ClusterRegistry(members, 3, 2, Clock.systemUTC());
        sessions = new SessionRegistry(members, settings.maxconn(), cluster::view, s -> finished.put(s.id(), s));
        cluster.addListener(sessions);
        holds = new HoldQueue(settings.holdQueue());
        cluster.addListener(holds);
        proxy = new ProxyServer(settings, sessions, holds, tls);
        address = proxy.start();
    }

    static ProxySettings settings(int maxconn, Duration clientTimeout) {
        return settings(maxconn, clientTimeout, Duration.ZERO);
    }

    static ProxySettings settings(int maxconn, Duration clientTimeout, Duration hold) {
        return new ProxySettings("127.0.0.1", 0, Duration.ofSeconds(1), 3, clientTimeout, Duration.ofMinutes(30),
                maxconn, Duration.ofSeconds(1), hold, 10);
    }

    static ProxySettings settings() {
        return settings(100, Duration.ofMinutes(30));
    }

    void primary(String member) {
        cluster.record(member, CheckOutcomes.fromResponse(200, "{\"role\":\"master\",\"timeline\":1}", Duration.ofMillis(1), Instant.now()));
    }

    void replica(String member) {
        cluster.record(member, CheckOutcomes.fromResponse(503, "{\"role\":\"replica\",\"timeline\":1}", Duration.ofMillis(1), Instant.now()));
    }

    void fails(String member, int times) {
        for (int i = 0; i < times; i++) {
            CheckOutcome refused = CheckOutcomes.fromError(new java.net.ConnectException("Connection refused"),
                    Duration.ofMillis(1), Instant.now());
            cluster.record(member, refused);
        }
    }

    /** A raw TCP connection to Patroxy. */
    Socket open() throws IOException {
        Socket s = new Socket(address.getAddress(), address.getPort());
        s.setSoTimeout(10_000);
        return s;
    }

    /** A logged-in session: StartupMessage sent, the stub's AuthenticationOk .. ReadyForQuery read. */
    Socket connect() throws IOException {
        Socket s = open();
        Pg.login(s);
        return s;
    }

    /** The close cause of the only finished session. */
    CloseCause onlyCause() {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !finished.isEmpty());
        if (finished.size() != 1) {
            throw new AssertionError("expected one finished session, got " + finished.values());
        }
        return finished.values().iterator().next().cause();
    }

    @Override
    public void close() {
        proxy.shutdown(Duration.ZERO);
    }
}
