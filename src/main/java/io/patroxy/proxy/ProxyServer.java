package io.patroxy.proxy;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.jboss.logging.Logger;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.timeout.IdleStateHandler;
import io.patroxy.config.ProxySettings;

/** The PostgreSQL listener: accepts clients and relays each to the current leader. */
public final class ProxyServer {

    private static final Logger LOG = Logger.getLogger(ProxyServer.class);
    /** Per channel and direction: stop reading the other side past 64 KiB queued, resume below 32 KiB. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 64 * 1024);

    private final ProxySettings settings;
    private final SessionRegistry registry;
    private final Transport transport;
    private final boolean ownsTransport;
    private final ProxyContext context;
    private Channel listener;
    private final java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();

    /** One listener with event loops of its own. */
    public ProxyServer(ProxySettings settings, SessionRegistry registry, HoldQueue holds) {
        this(settings, registry, holds, Transport.create(Transport.defaultThreads()), true, TlsContexts.passthroughDefault());
    }

    /** One of several listeners sharing {@code transport}'s event loops (its owner shuts them down). */
    public ProxyServer(ProxySettings settings, SessionRegistry registry, HoldQueue holds, Transport transport) {
        this(settings, registry, holds, transport, false, TlsContexts.passthroughDefault());
    }

    /** The same, with Patroxy's TLS ({@code patroxy.tls.*}). */
    public ProxyServer(ProxySettings settings, SessionRegistry registry, HoldQueue holds, Transport transport, TlsContexts tls) {
        this(settings, registry, holds, transport, false, tls);
    }

    /** One listener with event loops of its own and Patroxy's TLS. */
    public ProxyServer(ProxySettings settings, SessionRegistry registry, HoldQueue holds, TlsContexts tls) {
        this(settings, registry, holds, Transport.create(Transport.defaultThreads()), true, tls);
    }

    private ProxyServer(ProxySettings settings, SessionRegistry registry, HoldQueue holds, Transport transport,
            boolean ownsTransport, TlsContexts tls) {
        this.settings = settings;
        this.registry = registry;
        this.transport = transport;
        this.ownsTransport = ownsTransport;
        this.context = new ProxyContext(settings, registry, holds, new NettyConnector(transport, settings), tls);
    }

    /** Binds the listener; fails with a message naming the address when it cannot. */
    public InetSocketAddress start() {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(transport.acceptor(), transport.workers())
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(
                                new IdleStateHandler(0, 0, settings.clientTimeout().toMillis(), TimeUnit.MILLISECONDS),
                                new FrontendHandler(context));
                    }
                });
        try {
            listener = bootstrap.bind(settings.host(), settings.port()).syncUninterruptibly().channel();
        } catch (Exception e) {
            if (ownsTransport) {
                shutdownLoops();
            }
            throw new IllegalStateException("cannot listen for PostgreSQL clients on " + settings.host() + ":"
                    + settings.port() + " (patroxy.listen.host / patroxy.listen.port): " + e.getMessage(), e);
        }
        InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
        LOG.infof("%slistening for PostgreSQL clients on %s:%d (%s transport, maxconn %d)",
                registry.routing().listener().isEmpty() ? "" : "listener " + registry.routing().listener() + ": ",
                bound.getHostString(), bound.getPort(), transport.name(), settings.maxconn());
        return bound;
    }

    public InetSocketAddress address() {
        return listener == null ? null : (InetSocketAddress) listener.localAddress();
    }

    /**
     * Stops accepting, lets open sessions go on for up to the grace period — health checks and
     * drops still running, held clients still served when a leader comes — then closes the rest
     * with cause SHUTDOWN (a FATAL 57P01 at a message boundary) and stops the event loops. The
     * caller stops the health checks only after this returns.
     */
    public void shutdown(Duration grace) {
        shutdown(java.util.List.of(this), grace);
        if (ownsTransport) {
            shutdownLoops();
        }
    }

    /** The same for several listeners at once (their shared event loops are their owner's to stop). */
    public static void shutdown(java.util.List<ProxyServer> servers, Duration grace) {
        java.util.List<ProxyServer> mine = servers.stream().filter(s -> s.stopping.compareAndSet(false, true)).toList();
        if (mine.isEmpty()) {
            return; // once is enough
        }
        mine.forEach(ProxyServer::stopAccepting);
        java.util.function.IntSupplier open = () -> mine.stream().mapToInt(s -> s.registry.activeSessions()).sum();
        if (open.getAsInt() > 0) {
            LOG.infof("stopped accepting; waiting up to %s for %d open sessions", grace, open.getAsInt());
            awaitUntil(() -> open.getAsInt() == 0, grace);
            if (open.getAsInt() > 0) {
                LOG.warnf("closing %d sessions still open after the grace period", open.getAsInt());
                mine.forEach(s -> s.registry.shutdownAll());
                awaitUntil(() -> open.getAsInt() == 0, Session.DROP_BOUNDARY_WAIT.plusSeconds(2));
            }
        }
    }

    private void stopAccepting() {
        if (listener != null) {
            listener.close().syncUninterruptibly();
        }
    }

    private void shutdownLoops() {
        transport.shutdown();
    }

    private static void awaitUntil(BooleanSupplier done, Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20); // a poll during shutdown only: nothing to be notified by
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
