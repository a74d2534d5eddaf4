package io.patroxy.proxy;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import io.patroxy.config.TestCerts;

/** JDK TLS peers for real-socket tests: a client upgrading a PostgreSQL connection after 'S', and a TLS-speaking stub server. */
final class TlsPeers {

    private TlsPeers() {
    }

    /** Trusts every certificate, and keeps the chain it was shown. */
    static final class Recording implements X509TrustManager {
        volatile X509Certificate[] seen;

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            seen = chain;
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    /** libpq's sslmode=require: encrypted, not verified. */
    static SSLSocket upgrade(Socket plain, Recording trust) throws IOException {
        return upgrade(plain, context(null, new TrustManager[] {trust}));
    }

    static SSLSocket upgrade(Socket plain, SSLContext ctx) throws IOException {
        SSLSocket tls = (SSLSocket) ctx.getSocketFactory().createSocket(plain, plain.getInetAddress().getHostAddress(), plain.getPort(), true);
        tls.setUseClientMode(true);
        tls.setSoTimeout(10_000);
        tls.startHandshake();
        return tls;
    }

    /** SSLRequest, then 'S' expected, then the TLS handshake. */
    static SSLSocket sslRequest(Socket plain, Recording trust) throws IOException {
        plain.getOutputStream().write(Pg.sslRequest());
        int answer = plain.getInputStream().read();
        if (answer != 'S') {
            throw new AssertionError("expected 'S' to the SSLRequest, got " + (answer < 0 ? "EOF" : "'" + (char) answer + "'"));
        }
        return upgrade(plain, trust);
    }

    /** A context with {@code identity} as its own certificate (null: none) and the given trust. */
    static SSLContext context(TestCerts.Issued identity, TrustManager[] trust) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            KeyManagerFactory kmf = null;
            if (identity != null) {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                ks.setKeyEntry("me", identity.key(), new char[0], new java.security.cert.Certificate[] {identity.cert()});
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, new char[0]);
            }
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), trust, null);
            return ctx;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Trust in exactly {@code ca}. */
    static TrustManager[] trusting(X509Certificate ca) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setCertificateEntry("ca", ca);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            return tmf.getTrustManagers();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A stub PostgreSQL that speaks TLS like PostgreSQL with ssl=on: answers an SSLRequest with 'S'
     * (or 'N' when {@code identity} is null), completes TLS with {@code identity}, then serves the
     * rest with {@code inside} on the TLS socket; {@code firstMessages} records "ssl" and "startup".
     */
    static StubServer.Behaviour postgres(TestCerts.Issued identity, List<String> firstMessages, StubServer.Behaviour inside) {
        return socket -> {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            in.mark(8);
            int len = in.readInt();
            int code = in.readInt();
            if (code != 80877103) {
                firstMessages.add("startup");
                in.readFully(new byte[len - 8]);
                socket.getOutputStream().write(Pg.AUTH_OK_READY);
                StubServer.ECHO.serve(socket);
                return;
            }
            firstMessages.add("ssl");
            if (identity == null) {
                socket.getOutputStream().write('N');
                Pg.skipStartup(socket);
                firstMessages.add("startup");
                socket.getOutputStream().write(Pg.AUTH_OK_READY);
                StubServer.ECHO.serve(socket);
                return;
            }
            socket.getOutputStream().write('S');
            SSLContext ctx = context(identity, null);
            SSLSocket tls = (SSLSocket) ctx.getSocketFactory().createSocket(socket, (InputStream) null, true);
            tls.setUseClientMode(false);
            tls.startHandshake();
            firstMessages.add("tls");
            inside.serve(tls);
        };
    }
}
