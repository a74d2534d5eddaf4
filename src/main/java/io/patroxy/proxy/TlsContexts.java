package io.patroxy.proxy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

import org.jboss.logging.Logger;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.patroxy.config.MemberAddress;
import io.patroxy.config.TlsSettings;

/**
 * Patroxy's TLS, built with Netty's SslContextBuilder (OpenSSL when netty-tcnative is on the class
 * path, the JDK's otherwise): the context Patroxy shows clients (its certificate from
 * {@code patroxy.tls.cert-file}/{@code key-file}, or an ephemeral self-signed one made at start),
 * and the context of its own leg to PostgreSQL ({@code patroxy.server.tls.*}).
 *
 * <p><b>Reload.</b> {@link #reloadIfChanged()} rereads the PEM files; when their content changed
 * it builds a new context and swaps it in: new sessions get the new certificate, open ones keep
 * theirs (an SslHandler holds its own engine). A new file that does not load keeps the old
 * context and is logged as an error. Nothing of a key is ever logged.
 */
public final class TlsContexts {

    private static final Logger LOG = Logger.getLogger(TlsContexts.class);
    private static volatile TlsContexts passthroughDefault;

    private final TlsSettings settings;
    private volatile SslContext clientFacing;
    /** The ephemeral certificate's context while it is being made beside the start; null once made, or when a file is used. */
    private volatile CompletableFuture<SslContext> clientFacingMade;
    private volatile SslContext serverLeg; // null unless Patroxy has a TLS leg of its own to servers
    private volatile Map<String, Instant> expiry = Map.of();
    private byte[] clientFilesDigest;
    private byte[] serverFilesDigest;

    private TlsContexts(TlsSettings settings) {
        this.settings = settings;
    }

    /**
     * Builds the contexts, or fails with a message naming the setting (a key the TLS library cannot
     * read, a certificate that does not match its key).
     */
    public static TlsContexts start(TlsSettings settings) {
        TlsContexts t = new TlsContexts(settings);
        t.clientFilesDigest = digest(settings.certFile(), settings.keyFile(), settings.caFile());
        t.serverFilesDigest = digest(settings.serverCaFile());
        // the ephemeral certificate (a key pair, BouncyCastle's X.509, the TLS library: most of a second and ~40 MB
        // of RSS) is made on a thread of its own — beside the start when Patroxy terminates TLS (every TLS client
        // needs it), on first need in passthrough (only Patroxy's own refusals inside TLS do)
        boolean ephemeral = settings.certFile().isEmpty() && !(settings.caFile().isPresent() && settings.mode().terminates());
        try {
            if (!ephemeral) {
                t.clientFacing = t.buildClientFacing();
            }
        } catch (Exception e) {
            throw new IllegalStateException("Invalid Patroxy configuration: patroxy.tls.cert-file / patroxy.tls.key-file"
                    + (settings.caFile().isPresent() ? " / patroxy.tls.ca-file" : "") + ": cannot be used for TLS: " + why(e), e);
        }
        try {
            if (settings.serverLegTls() || settings.serverCaFile().isPresent()) {
                t.serverLeg = t.buildServerLeg();
            }
        } catch (Exception e) {
            throw new IllegalStateException("Invalid Patroxy configuration: patroxy.server.tls.ca-file: cannot be used for TLS: " + why(e), e);
        }
        if (ephemeral && settings.mode().terminates()) { // after the server leg: both note their certificates' expiry
            t.makeEphemeral();
        }
        LOG.infof("TLS: patroxy.tls.mode=%s%s; %s%s", settings.mode().label(),
                settings.mode().terminates() ? ", server leg patroxy.server.tls.mode=" + settings.serverMode().label() : "",
                settings.certFile().map(p -> "certificate " + p).orElse("certificate: ephemeral self-signed ("
                        + (settings.mode().terminates() ? "made at start, beside it" : "made when a refusal inside TLS first needs it")
                        + "; clients that verify it, sslmode=verify-ca/verify-full, will refuse it)"),
                ephemeral ? "" : "; " + provider());
        return t;
    }

    /** Which TLS implementation Netty uses: OpenSSL (netty-tcnative's BoringSSL, shipped for Linux x86_64 and aarch64) or the JDK's. */
    static String provider() {
        return io.netty.handler.ssl.OpenSsl.isAvailable() ? "OpenSSL (" + io.netty.handler.ssl.OpenSsl.versionString() + ")"
                : "the JDK's TLS (OpenSSL unavailable: " + io.netty.handler.ssl.OpenSsl.unavailabilityCause().getMessage() + ")";
    }

    /** The default for listeners made without settings (tests): passthrough, one ephemeral certificate made on first use. */
    static TlsContexts passthroughDefault() {
        TlsContexts t = passthroughDefault;
        if (t == null) {
            synchronized (TlsContexts.class) {
                if (passthroughDefault == null) {
                    passthroughDefault = start(TlsSettings.passthrough()).ready(); // embedded tests run one loop turn at a time
                }
                t = passthroughDefault;
            }
        }
        return t;
    }

    public TlsSettings settings() {
        return settings;
    }

    /**
     * A handler for a client connection, with the certificate current now. In the first moments of a
     * start the ephemeral certificate may still be in the making: the caller then waits for it.
     */
    SslHandler clientHandler(ByteBufAllocator alloc) {
        return ready().clientFacing.newHandler(alloc);
    }

    /** Waits until the certificate clients are shown is there (the ephemeral one made). */
    TlsContexts ready() {
        if (clientFacing == null) {
            clientFacing = makeEphemeral().join();
        }
        return this;
    }

    /** Whether {@link #clientHandler} can answer without waiting for the ephemeral certificate. */
    boolean clientReady() {
        CompletableFuture<SslContext> made = clientFacingMade;
        return clientFacing != null || made != null && made.isDone() && !made.isCompletedExceptionally();
    }

    /**
     * Runs {@code then} on {@code loop} once the ephemeral certificate is made (making it now if nobody
     * asked yet), or {@code failed} there if it cannot be made: an event loop never waits for it.
     */
    void whenClientReady(java.util.concurrent.Executor loop, Runnable then, java.util.function.Consumer<Throwable> failed) {
        makeEphemeral().whenComplete((c, e) -> loop.execute(() -> {
            if (e == null) {
                then.run();
            } else {
                failed.accept(e);
            }
        }));
    }

    private synchronized CompletableFuture<SslContext> makeEphemeral() {
        if (clientFacingMade == null) {
            clientFacingMade = CompletableFuture.supplyAsync(this::buildEphemeral, r -> {
                Thread maker = new Thread(r, "patroxy-tls-ephemeral");
                maker.setDaemon(true);
                maker.start();
            });
        }
        return clientFacingMade;
    }

    private SslContext buildEphemeral() {
        try {
            SslContext built = buildClientFacing();
            LOG.infof("TLS: ephemeral certificate ready; %s", provider());
            return built;
        } catch (Exception e) {
            throw new CompletionException("Patroxy's ephemeral certificate could not be made: " + why(e), e);
        }
    }

    /** A handler for Patroxy's leg to {@code member}: with verify-full, its host must be in the server's certificate. */
    SslHandler serverHandler(ByteBufAllocator alloc, MemberAddress member) {
        SslHandler handler = serverLeg.newHandler(alloc, member.host(), member.pgPort());
        if (settings.serverMode() == TlsSettings.ServerMode.VERIFY_FULL) {
            SSLEngine engine = handler.engine();
            SSLParameters p = engine.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS"); // RFC 2818 host name rules: libpq's verify-full
            engine.setSSLParameters(p);
        }
        return handler;
    }

    /**
     * The certificates Patroxy uses, by the names {@link #expiry()} gives them: known from the settings
     * at once, though the ephemeral one's notAfter is only known once it is made.
     */
    public java.util.List<String> certificates() {
        java.util.List<String> names = new java.util.ArrayList<>();
        if (settings.certFile().isPresent() || settings.mode().terminates()) { // passthrough's ephemeral one: only once needed
            names.add(settings.certFile().isPresent() ? "cert-file" : "ephemeral");
        }
        if (settings.caFile().isPresent() && settings.mode().terminates()) {
            names.add("ca-file");
        }
        if (serverLeg != null && settings.serverMode().verifiesChain()) {
            names.add("server-ca-file");
        }
        return names;
    }

    /**
     * The notAfter of each certificate Patroxy uses, by which one: {@code cert-file} (or
     * {@code ephemeral}), {@code ca-file}, {@code server-ca-file} (the earliest of a file's certificates).
     */
    public Map<String, Instant> expiry() {
        return expiry;
    }

    /** Rereads the files; swaps in new contexts when they changed and load. Safe to call from any one thread. */
    public synchronized void reloadIfChanged() {
        byte[] client = digest(settings.certFile(), settings.keyFile(), settings.caFile());
        if (client != null && !Arrays.equals(client, clientFilesDigest)) {
            clientFilesDigest = client;
            try {
                clientFacing = buildClientFacing();
                LOG.infof("TLS: reloaded patroxy.tls.cert-file %s: certificate valid until %s; new sessions use it",
                        settings.certFile().orElseThrow(), expiry.get("cert-file"));
            } catch (Exception e) {
                LOG.errorf("TLS: patroxy.tls.cert-file / key-file / ca-file changed but cannot be used (%s); keeping the"
                        + " certificate loaded before", why(e));
            }
        }
        byte[] server = digest(settings.serverCaFile());
        if (server != null && !Arrays.equals(server, serverFilesDigest)) {
            serverFilesDigest = server;
            try {
                serverLeg = buildServerLeg();
                LOG.infof("TLS: reloaded patroxy.server.tls.ca-file %s", settings.serverCaFile().orElseThrow());
            } catch (Exception e) {
                LOG.errorf("TLS: patroxy.server.tls.ca-file changed but cannot be used (%s); keeping the CA loaded before", why(e));
            }
        }
    }

    private SslContext buildClientFacing() throws Exception {
        SslContextBuilder b;
        Map<String, Instant> next = new LinkedHashMap<>();
        if (settings.certFile().isPresent()) {
            byte[] certPem = Files.readAllBytes(settings.certFile().get());
            byte[] keyPem = Files.readAllBytes(settings.keyFile().orElseThrow());
            b = SslContextBuilder.forServer(new ByteArrayInputStream(certPem), new ByteArrayInputStream(keyPem));
            next.put("cert-file", earliest(certificates(certPem)));
        } else {
            Instant now = Instant.now();
            SelfSignedCertificate ephemeral = new SelfSignedCertificate("patroxy", java.util.Date.from(now.minusSeconds(86_400)),
                    java.util.Date.from(now.plus(java.time.Duration.ofDays(365))), "EC", 256);
            try {
                b = SslContextBuilder.forServer(ephemeral.key(), ephemeral.cert());
                next.put("ephemeral", ephemeral.cert().getNotAfter().toInstant());
            } finally {
                ephemeral.delete();
            }
        }
        b.protocols(settings.protocols());
        if (!settings.ciphers().isEmpty()) {
            b.ciphers(settings.ciphers());
        }
        if (settings.caFile().isPresent() && settings.mode().terminates()) {
            byte[] caPem = Files.readAllBytes(settings.caFile().get());
            b.trustManager(new ByteArrayInputStream(caPem)).clientAuth(ClientAuth.REQUIRE);
            next.put("ca-file", earliest(certificates(caPem)));
        }
        SslContext built = b.build();
        Instant serverCa = expiry.get("server-ca-file");
        if (serverCa != null) {
            next.put("server-ca-file", serverCa);
        }
        expiry = Map.copyOf(next);
        return built;
    }

    private SslContext buildServerLeg() throws Exception {
        SslContextBuilder b = SslContextBuilder.forClient().protocols("TLSv1.2", "TLSv1.3");
        if (settings.serverMode().verifiesChain()) {
            byte[] caPem = Files.readAllBytes(settings.serverCaFile().orElseThrow());
            b.trustManager(new ByteArrayInputStream(caPem));
            Map<String, Instant> next = new LinkedHashMap<>(expiry);
            next.put("server-ca-file", earliest(certificates(caPem)));
            expiry = Map.copyOf(next);
        } else {
            b.trustManager(InsecureTrustManagerFactory.INSTANCE); // prefer / require: encrypted, not verified (libpq's meaning)
        }
        return b.build();
    }

    private static Collection<? extends java.security.cert.Certificate> certificates(byte[] pem) throws CertificateException {
        return CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
    }

    private static Instant earliest(Collection<? extends java.security.cert.Certificate> certs) {
        return certs.stream().map(c -> ((X509Certificate) c).getNotAfter().toInstant()).min(Instant::compareTo)
                .orElseThrow(() -> new IllegalArgumentException("no PEM certificate in it"));
    }

    /** SHA-256 over the files' contents; null when one cannot be read now (a file being replaced: tried again later). */
    @SafeVarargs
    private static byte[] digest(Optional<Path>... files) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Optional<Path> f : files) {
                if (f.isPresent()) {
                    md.update(Files.readAllBytes(f.get()));
                }
                md.update((byte) 0);
            }
            return md.digest();
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String why(Exception e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t && !(t instanceof SSLException)) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }
}
