package io.patroxy.proxy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.patroxy.cluster.ClusterRegistry;
import io.patroxy.config.MemberAddress;
import io.patroxy.health.CheckOutcome;
import io.patroxy.health.CheckOutcomes;
import io.patroxy.health.CheckStatus;
import io.patroxy.health.PatroniStatus;
import io.patroxy.config.ProxySettings;

/**
 * The whole front end on EmbeddedChannels: real ClusterRegistry, SessionRegistry, HoldQueue and
 * FrontendHandler; server connections are EmbeddedChannels whose connects the test completes. Each
 * channel has its own embedded loop; nothing runs until the test says so, so every interleaving of
 * a snapshot, a queued drop and a server's bytes can be played one event-loop turn at a time.
 */
final class EmbeddedFrontEnd {

    /** A connect under way: the test completes it. */
    record Connect(MemberAddress member, EmbeddedChannel server, ChannelPromise promise) {
    }

    final List<MemberAddress> members = MemberAddress.parseList("n0=127.0.0.2,n1=127.0.0.3,n2=127.0.0.4");
    final ClusterRegistry cluster;
    final boolean balanced;
    final Map<Long, Session> finished = new ConcurrentHashMap<>();
    final SessionRegistry sessions;
    final HoldQueue holds;
    final List<Connect> connects = new ArrayList<>();
    final List<EmbeddedChannel> clients = new ArrayList<>();
    final List<ByteBuf> sent = new ArrayList<>();
    final ProxyContext px;
    /** What every client and server channel allocates from (a test may count what it hands out). */
    ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;

    EmbeddedFrontEnd(Duration hold) {
        this(hold, false);
    }

    EmbeddedFrontEnd(Duration hold, boolean balanced) {
        this(hold, balanced, 1000);
    }

    /** @param balanced a replicas-like listener (leastconn, drop on, no fallback) instead of a leader one */
    EmbeddedFrontEnd(Duration hold, boolean balanced, int maxconn) {
        this(hold, balanced, maxconn, TlsContexts.passthroughDefault());
    }

    /** A leader listener with Patroxy's TLS as given. */
    EmbeddedFrontEnd(Duration hold, TlsContexts tls) {
        this(hold, false, 1000, tls);
    }

    EmbeddedFrontEnd(Duration hold, boolean balanced, TlsContexts tls) {
        this(hold, balanced, 1000, tls);
    }

    EmbeddedFrontEnd(Duration hold, boolean balanced, int maxconn, TlsContexts tls) {
        this.balanced = balanced;
        cluster = new ClusterRegistry(balanced ? "replicas" : "", members, 3, 2, Clock.systemUTC(), !balanced);
        io.patroxy.cluster.Routing routing = balanced
                ? io.patroxy.cluster.Routing.balanced("replicas", io.patroxy.config.ListenerSpec.Balance.LEASTCONN, true, cluster::view, null)
                : io.patroxy.cluster.Routing.leader("", cluster::view);
        sessions = new SessionRegistry(members, maxconn, routing, new CancelKeys(), s -> finished.put(s.id(), s));
        holds = new HoldQueue(1000, routing);
        cluster.addListener(sessions);
        cluster.addListener(holds);
        ProxySettings settings = new ProxySettings("127.0.0.1", 0, Duration.ofSeconds(1), 3, Duration.ofMinutes(30),
                Duration.ofMinutes(30), maxconn, Duration.ofSeconds(1), hold, 1000);
        Connector connector = (client, member, handler) -> {
            EmbeddedChannel server = new EmbeddedChannel();
            server.config().setAutoRead(false);
            server.config().setAllocator(alloc);
            server.pipeline().addLast("handshake", handler);
            ChannelPromise promise = server.newPromise();
            connects.add(new Connect(member, server, promise));
            return promise;
        };
        px = new ProxyContext(settings, sessions, holds, connector, tls);
    }

    /** A new client connection (its first read asked for). */
    EmbeddedChannel client() {
        EmbeddedChannel client = new EmbeddedChannel(false, false);
        client.config().setAutoRead(false);
        client.config().setAllocator(alloc);
        client.pipeline().addLast(new FrontendHandler(px));
        try {
            client.register();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        clients.add(client);
        return client;
    }

    /** Bytes into a channel, tracked so the test can assert every one was released. */
    void inbound(EmbeddedChannel channel, byte[] bytes) {
        ByteBuf buf = Unpooled.copiedBuffer(bytes);
        sent.add(buf);
        channel.writeInbound(buf);
    }

    Session session(EmbeddedChannel client) {
        return sessions.open().stream().filter(s -> s.client() == client).findFirst()
                .orElseGet(() -> finished.values().stream().filter(s -> s.client() == client).findFirst().orElse(null));
    }

    Connect lastConnect() {
        return connects.get(connects.size() - 1);
    }

    /** Runs what is queued on every channel's loop: one turn everywhere. */
    void runAll() {
        for (int i = 0; i < 3; i++) {
            clients.forEach(EmbeddedChannel::runPendingTasks);
            connects.forEach(c -> c.server().runPendingTasks());
        }
    }

    void advance(Duration d) {
        clients.forEach(c -> c.advanceTimeBy(d.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS));
        runAll();
    }

    void primary(String member, long timeline) {
        cluster.record(member, CheckOutcomes.fromResponse(200, "{\"role\":\"master\",\"timeline\":" + timeline + "}",
                Duration.ofMillis(1), Instant.now()));
    }

    void replica(String member) {
        cluster.record(member, CheckOutcomes.fromResponse(503, "{\"role\":\"replica\",\"timeline\":1}", Duration.ofMillis(1), Instant.now()));
    }

    void timeout(String member) {
        cluster.record(member, new CheckOutcome(CheckStatus.L7TOUT, -1, Duration.ofSeconds(5), "timeout",
                PatroniStatus.UNKNOWN, Instant.now()));
    }

    /** What {@code ch} wrote out so far, in one array; the buffers are released. */
    static byte[] drain(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
            all.writeBytes(b);
            b.release();
        }
        byte[] bytes = new byte[all.readableBytes()];
        all.readBytes(bytes);
        all.release();
        return bytes;
    }

    /** Drains and releases what every channel wrote out; closes everything; runs what is left. */
    void closeAll() {
        clients.forEach(c -> { c.close(); c.releaseOutbound(); c.releaseInbound(); });
        connects.forEach(c -> { c.server().close(); c.server().releaseOutbound(); c.server().releaseInbound(); });
        runAll();
        clients.forEach(c -> { c.releaseOutbound(); c.finishAndReleaseAll(); });
        connects.forEach(c -> { c.server().releaseOutbound(); c.server().finishAndReleaseAll(); });
    }

    /** Forgets every channel and buffer so far (after {@link #closeAll}): the next test input starts afresh. */
    void reset() {
        clients.clear();
        connects.clear();
        sent.clear();
        finished.clear();
    }

    /** Every buffer the test put in was released by Patroxy (or by the drains above). */
    void assertNothingLeaked() {
        for (ByteBuf b : sent) {
            if (b.refCnt() != 0) {
                throw new AssertionError("leaked a buffer the test sent: refCnt " + b.refCnt());
            }
        }
    }
}
