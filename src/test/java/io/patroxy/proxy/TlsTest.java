package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.patroxy.config.MemberAddress;
import io.patroxy.config.TestCerts;
import io.patroxy.config.TlsSettings;
import io.patroxy.config.TlsSettings.ClientMode;
import io.patroxy.config.TlsSettings.ServerMode;

/**
 * Patroxy's TLS on real sockets (issue 13): JDK SSLSocket clients against a ProxyServer in front
 * of stub servers, some of which speak TLS like PostgreSQL with ssl=on.
 */
class TlsTest {

    @TempDir
    static Path dir;
    static TestCerts.Issued ca;
    static TestCerts.Issued patroxyCert;
    static TestCerts.Issued pgCert;
    static TestCerts.Issued otherHostCert;

    private StubServer server;
    private ProxyFixture fx;
    private final List<String> firstMessages = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void certs() {
        ca = TestCerts.ca(dir, "ca");
        patroxyCert = TestCerts.leaf(dir, "patroxy", ca, Duration.ofDays(20), "localhost", "127.0.0.1");
        pgCert = TestCerts.leaf(dir, "pg", ca, Duration.ofDays(40), "127.0.0.1");
        otherHostCert = TestCerts.leaf(dir, "other", ca, Duration.ofDays(40), "db.example");
    }

    @AfterEach
    void stop() throws IOException {
        if (fx != null) {
            fx.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private static TlsSettings tls(ClientMode mode, ServerMode serverMode, Path clientCa) {
        return new TlsSettings(mode, Optional.of(patroxyCert.certFile()), Optional.of(patroxyCert.keyFile()),
                Optional.ofNullable(clientCa), List.of("TLSv1.2", "TLSv1.3"), List.of(), serverMode,
                serverMode.verifiesChain() ? Optional.of(ca.certFile()) : Optional.empty());
    }

    private void start(StubServer.Behaviour behaviour, TlsSettings tls, Duration hold) throws IOException {
        server = new StubServer(behaviour);
        fx = new ProxyFixture(List.of(new MemberAddress("pg0", "127.0.0.1", server.port(), 8008)),
                ProxyFixture.settings(100, Duration.ofMinutes(30), hold), TlsContexts.start(tls));
    }

    /** A client as libpq's sslmode=verify-full: Patroxy's certificate checked against the CA and the host name. */
    private SSLSocket verifyFull(Socket plain) throws IOException {
        plain.getOutputStream().write(Pg.sslRequest());
        assertThat(plain.getInputStream().read()).as("Patroxy's answer to the SSLRequest").isEqualTo('S');
        SSLContext ctx = TlsPeers.context(null, TlsPeers.trusting(ca.cert()));
        SSLSocket tls = (SSLSocket) ctx.getSocketFactory().createSocket(plain, "127.0.0.1", plain.getPort(), true);
        SSLParameters p = tls.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        tls.setSSLParameters(p);
        tls.setSoTimeout(10_000);
        tls.startHandshake();
        return tls;
    }

    private Session onlySession() {
        await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.open().size() + fx.finished.size() == 1);
        return fx.sessions.open().isEmpty() ? fx.finished.values().iterator().next() : fx.sessions.open().iterator().next();
    }

    @Test
    void terminateReadsTheStartupInsideTlsAndRelaysToAServerThatDeclinesTls() throws IOException {
        start(TlsPeers.postgres(null, firstMessages, null), tls(ClientMode.TERMINATE, ServerMode.PREFER, null), Duration.ZERO);
        fx.primary("pg0");
        try (Socket c = fx.open(); SSLSocket tls = verifyFull(c)) {
            Pg.login(tls);
            tls.getOutputStream().write(Pg.query("SELECT 1"));
            assertThat(tls.getInputStream().readNBytes(Pg.query("SELECT 1").length)).isEqualTo(Pg.query("SELECT 1"));
            Session s = onlySession();
            assertThat(s.clientTlsTerminated()).isTrue();
            assertThat(s.serverTls()).as("prefer, and the server said 'N': plaintext").isFalse();
        }
        assertThat(firstMessages).as("Patroxy's own SSLRequest, then the client's startup").containsExactly("ssl", "startup");
    }

    /** A client over maxconn has no session; it asked for TLS, so it is told inside TLS, in terminate and in passthrough. */
    @Test
    void aTlsClientOverMaxconnIsToldInsideTls() throws IOException {
        for (ClientMode mode : new ClientMode[] {ClientMode.TERMINATE, ClientMode.PASSTHROUGH}) {
            server = new StubServer(TlsPeers.postgres(null, firstMessages, null));
            fx = new ProxyFixture(List.of(new MemberAddress("pg0", "127.0.0.1", server.port(), 8008)),
                    ProxyFixture.settings(1, Duration.ofMinutes(30), Duration.ZERO), TlsContexts.start(tls(mode, ServerMode.DISABLE, null)));
            fx.primary("pg0");
            try (Socket first = fx.open()) {
                Pg.login(first); // the one session maxconn allows (in plaintext)
                await().atMost(Duration.ofSeconds(5)).until(() -> fx.sessions.open().size() == 1);
                try (Socket c = fx.open(); SSLSocket tls = verifyFull(c)) {
                    tls.getOutputStream().write(Pg.STARTUP);
                    Pg.Message m = Pg.read(tls.getInputStream());
                    assertThat(m.type()).as(mode.name()).isEqualTo('E');
                    assertThat(m.field('C')).isEqualTo("53300");
                    assertThat(m.field('M')).contains("too many clients already");
                    assertThat(tls.getInputStream().read()).as("then closed").isEqualTo(-1);
                }
            }
            fx.close();
            server.close();
            fx = null;
            server = null;
        }
    }

    @Test
    void terminateHoldsATlsClientUntilALeaderComes() throws IOException {
        start(TlsPeers.postgres(null, firstMessages, null), tls(ClientMode.TERMINATE, ServerMode.DISABLE, null), Duration.ofSeconds(20));
        fx.replica("pg0");
        try (Socket c = fx.open(); SSLSocket tls = verifyFull(c)) {
            tls.getOutputStream().write(Pg.STARTUP);
            await().atMost(Duration.ofSeconds(5)).until(() -> fx.holds.size() == 1);
            fx.primary("pg0");
            fx.primary("pg0");
            assertThat(tls.getInputStream().readNBytes(Pg.AUTH_OK_READY.length)).isEqualTo(Pg.AUTH_OK_READY);
        }
        assertThat(firstMessages).as("disable: no SSLRequest to the server").containsExactly("startup");
    }

    @Test
    void terminateGivesATlsClientPatroxysFatalInsideTls() throws IOException {
        start(TlsPeers.postgres(null, firstMessages, null), tls(ClientMode.TERMINATE, ServerMode.PREFER, null), Duration.ofMillis(300));
        fx.replica("pg0");
        try (Socket c = fx.open(); SSLSocket tls = verifyFull(c)) {
            tls.getOutputStream().write(Pg.STARTUP);
            Pg.Message error = Pg.read(tls.getInputStream());
            assertThat(error.field('C')).isEqualTo("57P03");
            assertThat(error.field('M')).startsWith("no leader");
        }
    }

    @Test
    void verifyFullServerLegRelaysInsideTlsOnBothLegs() throws IOException {
        start(TlsPeers.postgres(pgCert, firstMessages, Pg.server(StubServer.ECHO)),
                tls(ClientMode.TERMINATE, ServerMode.VERIFY_FULL, null), Duration.ZERO);
        fx.primary("pg0");
        try (Socket c = fx.open(); SSLSocket tls = verifyFull(c)) {
            Pg.login(tls);
            tls.getOutputStream().write(Pg.query("SELECT 2"));
            assertThat(tls.getInputStream().readNBytes(Pg.query("SELECT 2").length)).isEqualTo(Pg.query("SELECT 2"));
            Session s = onlySession();
            assertThat(s.clientTlsTerminated()).isTrue();
            assertThat(s.serverTls()).isTrue();
        }
        assertThat(firstMessages).containsExactly("ssl", "tls");
    }

    @Test
    void verifyFullRefusesAServerWhoseCertificateNamesAnotherHost() throws IOException {
        start(TlsPeers.postgres(otherHostCert, firstMessages, Pg.server(StubServer.ECHO)),
                tls(ClientMode.TERMINATE, ServerMode.VERIFY_FULL, null), Duration.ofSeconds(5));
        fx.primary("pg0");
        try (Socket c = fx.open(); SSLSocket tls = verifyFull(c)) {
            tls.getOutputStream().write(Pg.STARTUP);
            Pg.Message error = Pg.read(tls.getInputStream());
            assertThat(error.field('C')).isEqualTo("08006");
            assertThat(error.field('M')).startsWith("Patroxy could not open TLS to member pg0 at 127.0.0.1:" + server.port()
                    + " (patroxy.server.tls.mode=verify-full): the TLS handshake failed");
        }
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.SERVER_TLS);
    }

    @Test
    void verifyCaAcceptsTheSameCertificateWithoutLookingAtTheHost() throws IOException {
        start(TlsPeers.postgres(otherHostCert, firstMessages, Pg.server(StubServer.ECHO)),
                tls(ClientMode.TERMINATE, ServerMode.VERIFY_CA, null), Duration.ZERO);
        fx.primary("pg0");
        try (Socket c = fx.open(); SSLSocket tls = verifyFull(c)) {
            Pg.login(tls);
        }
    }

    @Test
    void requireServerLegRefusesAServerThatDeclinesTls() throws IOException {
        start(TlsPeers.postgres(null, firstMessages, null), tls(ClientMode.TERMINATE, ServerMode.REQUIRE, null), Duration.ofSeconds(5));
        fx.primary("pg0");
        try (Socket c = fx.open(); SSLSocket tls = verifyFull(c)) {
            tls.getOutputStream().write(Pg.STARTUP);
            Pg.Message error = Pg.read(tls.getInputStream());
            assertThat(error.field('M')).isEqualTo("Patroxy could not open TLS to member pg0 at 127.0.0.1:" + server.port()
                    + " (patroxy.server.tls.mode=require): it does not accept TLS (it answered 'N' to Patroxy's SSLRequest)");
        }
        assertThat(firstMessages).as("the startup never went in plaintext").containsExactly("ssl");
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.SERVER_TLS);
    }

    @Test
    void requireRefusesAPlaintextClientSayingWhichSetting() throws IOException {
        start(TlsPeers.postgres(null, firstMessages, null), tls(ClientMode.REQUIRE, ServerMode.PREFER, null), Duration.ZERO);
        fx.primary("pg0");
        try (Socket c = fx.open()) {
            c.getOutputStream().write(Pg.STARTUP);
            Pg.Message error = Pg.read(c.getInputStream());
            assertThat(error.field('C')).isEqualTo("28000");
            assertThat(error.field('M')).contains("patroxy.tls.mode=require").contains("sslmode=require");
        }
        assertThat(firstMessages).isEmpty();
        assertThat(fx.onlyCause()).isEqualTo(CloseCause.TLS_REQUIRED);
    }

    @Test
    void aGssencRequestGetsNAndTheSslRequestAfterItIsAnsweredAsAFirstOne() throws IOException {
        start(TlsPeers.postgres(null, firstMessages, null), tls(ClientMode.REQUIRE, ServerMode.PREFER, null), Duration.ZERO);
        fx.primary("pg0");
        try (Socket c = fx.open()) {
            c.getOutputStream().write(ByteBuffer.allocate(8).putInt(8).putInt(80877104).array());
            assertThat(c.getInputStream().read()).isEqualTo('N');
            try (SSLSocket tls = verifyFull(c)) {
                Pg.login(tls);
            }
        }
    }

    @Test
    void aSecondSslRequestInsideTlsIsAProtocolViolation() throws IOException {
        start(TlsPeers.postgres(null, firstMessages, null), tls(ClientMode.TERMINATE, ServerMode.PREFER, null), Duration.ZERO);
        fx.primary("pg0");
        try (Socket c = fx.open(); SSLSocket tls = verifyFull(c)) {
            tls.getOutputStream().write(Pg.sslRequest());
            Pg.Message error = Pg.read(tls.getInputStream());
            assertThat(error.field('C')).isEqualTo("08P01");
        }
    }

    @Test
    void unencryptedBytesAfterTheSslRequestAreRefused() throws IOException {
        start(TlsPeers.postgres(null, firstMessages, null), tls(ClientMode.TERMINATE, ServerMode.PREFER, null), Duration.ZERO);
        fx.primary("pg0");
        try (Socket c = fx.open()) {
            ByteArrayOutputStream both = new ByteArrayOutputStream();
            both.writeBytes(Pg.sslRequest());
            both.writeBytes(Pg.STARTUP); // buffer stuffing (CVE-2021-23214): never taken as sent inside TLS
            c.getOutputStream().write(both.toByteArray());
            Pg.Message error = Pg.read(c.getInputStream());
            assertThat(error.field('M')).isEqualTo("received unencrypted data after SSL request");
        }
    }

    @Test
    void clientCertificatesAreVerifiedWithTheCaFile() throws IOException {
        start(TlsPeers.postgres(null, firstMessages, null), tls(ClientMode.TERMINATE, ServerMode.PREFER, ca.certFile()), Duration.ZERO);
        fx.primary("pg0");
        TestCerts.Issued clientCert = TestCerts.leaf(dir, "client", ca, Duration.ofDays(1), "client");
        try (Socket c = fx.open()) {
            c.getOutputStream().write(Pg.sslRequest());
            assertThat(c.getInputStream().read()).isEqualTo('S');
            SSLSocket tls = TlsPeers.upgrade(c, TlsPeers.context(clientCert, TlsPeers.trusting(ca.cert())));
            Pg.login(tls);
        }
        try (Socket c = fx.open()) {
            assertThatThrownBy(() -> {
                SSLSocket tls = TlsPeers.sslRequest(c, new TlsPeers.Recording());
                Pg.login(tls); // TLS 1.3: the server's refusal of a missing client certificate comes with the first read
            }).isInstanceOf(IOException.class);
        }
    }

    /** SCRAM-SHA-256-PLUS is taken out of the server's AuthenticationSASL across terminate + a TLS server leg. */
    @Test
    void channelBindingIsNotOfferedAcrossTermination() throws IOException {
        start(offeringChannelBinding(), tls(ClientMode.TERMINATE, ServerMode.REQUIRE, null), Duration.ZERO);
        fx.primary("pg0");
        try (Socket c = fx.open(); SSLSocket tls = verifyFull(c)) {
            tls.getOutputStream().write(Pg.STARTUP);
            assertOffersOnlyPlainScram(Pg.read(tls.getInputStream()));
            tls.getOutputStream().write(Pg.query("after"));
            assertThat(tls.getInputStream().readNBytes(Pg.query("after").length)).isEqualTo(Pg.query("after"));
        }
    }

    /**
     * A plaintext client of a terminating Patroxy whose own leg is TLS: the server's -PLUS offer is taken out
     * too (libpq refuses "SCRAM-SHA-256-PLUS authentication over a non-SSL connection"; seen by TlsClusterIT).
     */
    @Test
    void channelBindingIsNotOfferedToAPlaintextClientOverPatroxysTlsLeg() throws IOException {
        start(offeringChannelBinding(), tls(ClientMode.TERMINATE, ServerMode.REQUIRE, null), Duration.ZERO);
        fx.primary("pg0");
        try (Socket c = fx.open()) {
            c.getOutputStream().write(Pg.STARTUP);
            assertOffersOnlyPlainScram(Pg.read(c.getInputStream()));
        }
    }

    /** A PostgreSQL over TLS whose AuthenticationSASL offers SCRAM-SHA-256-PLUS and SCRAM-SHA-256, then echoes. */
    private StubServer.Behaviour offeringChannelBinding() {
        byte[] sasl = saslMechanisms("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256");
        return TlsPeers.postgres(pgCert, firstMessages, socket -> {
            Pg.skipStartup(socket);
            OutputStream out = socket.getOutputStream();
            out.write(sasl);
            out.flush();
            StubServer.ECHO.serve(socket);
        });
    }

    private static void assertOffersOnlyPlainScram(Pg.Message auth) {
        assertThat((char) auth.type()).isEqualTo('R');
        assertThat(new String(auth.body(), 4, auth.body().length - 4, StandardCharsets.UTF_8)).isEqualTo("SCRAM-SHA-256\0\0");
    }

    static byte[] saslMechanisms(String... names) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (String n : names) {
            body.writeBytes(n.getBytes(StandardCharsets.UTF_8));
            body.write(0);
        }
        body.write(0);
        byte[] b = body.toByteArray();
        return ByteBuffer.allocate(9 + b.length).put((byte) 'R').putInt(8 + b.length).putInt(10).put(b).array();
    }

    @Test
    void aChangedCertificateServesNewSessionsAndABrokenOneKeepsTheOld() throws IOException {
        Path certFile = dir.resolve("reload.crt");
        Path keyFile = dir.resolve("reload.key");
        Files.copy(patroxyCert.certFile(), certFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(patroxyCert.keyFile(), keyFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        TlsSettings settings = new TlsSettings(ClientMode.TERMINATE, Optional.of(certFile), Optional.of(keyFile), Optional.empty(),
                List.of("TLSv1.2", "TLSv1.3"), List.of(), ServerMode.DISABLE, Optional.empty());
        server = new StubServer(TlsPeers.postgres(null, firstMessages, null));
        TlsContexts contexts = TlsContexts.start(settings);
        fx = new ProxyFixture(List.of(new MemberAddress("pg0", "127.0.0.1", server.port(), 8008)),
                ProxyFixture.settings(100, Duration.ofMinutes(30), Duration.ZERO), contexts);
        fx.primary("pg0");
        assertThat(contexts.expiry().get("cert-file")).isEqualTo(patroxyCert.cert().getNotAfter().toInstant());
        TlsPeers.Recording first = new TlsPeers.Recording();
        try (Socket old = fx.open(); SSLSocket oldTls = TlsPeers.sslRequest(old, first)) {
            Pg.login(oldTls);
            TestCerts.Issued next = TestCerts.leaf(dir, "next", ca, Duration.ofDays(60), "localhost", "127.0.0.1");
            Files.copy(next.certFile(), certFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.copy(next.keyFile(), keyFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            contexts.reloadIfChanged();
            TlsPeers.Recording second = new TlsPeers.Recording();
            try (Socket c = fx.open(); SSLSocket tls = TlsPeers.sslRequest(c, second)) {
                Pg.login(tls);
            }
            assertThat(second.seen[0].getSerialNumber()).as("a new session gets the new certificate").isEqualTo(next.cert().getSerialNumber());
            assertThat(contexts.expiry().get("cert-file")).isEqualTo(next.cert().getNotAfter().toInstant());
            oldTls.getOutputStream().write(Pg.query("still"));
            assertThat(oldTls.getInputStream().readNBytes(Pg.query("still").length)).as("an open session keeps going")
                    .isEqualTo(Pg.query("still"));

            Files.writeString(keyFile, "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n");
            contexts.reloadIfChanged(); // logged as an error; the loaded certificate stays
            TlsPeers.Recording third = new TlsPeers.Recording();
            try (Socket c = fx.open(); SSLSocket tls = TlsPeers.sslRequest(c, third)) {
                Pg.login(tls);
            }
            assertThat(third.seen[0].getSerialNumber()).isEqualTo(next.cert().getSerialNumber());
        }
        assertThat(first.seen[0].getSerialNumber()).isEqualTo(patroxyCert.cert().getSerialNumber());
    }
}
