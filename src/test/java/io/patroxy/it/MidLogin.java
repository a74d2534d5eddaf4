package io.patroxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.DataInputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import io.patroxy.proxy.Pg;

/**
 * A login cut in the middle by PostgreSQL: a SCRAM login is started, the server's
 * AuthenticationSASL read, then the member's backend that waits in authentication gets SIGTERM
 * (what every backend gets at a fast shutdown). PostgreSQL then closes without writing a word.
 */
final class MidLogin {

    private MidLogin() {
    }

    /**
     * Returns what the client reads after the backend was ended: "EOF" (the connection closed, with
     * or without TLS's close_notify), or the message type and its text. With {@code tls}, an
     * SSLRequest first, then a handshake that trusts any certificate (what follows is what is tested).
     */
    static String ended(String host, int port, String member, boolean tls) throws Exception {
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress(host, port), 5000);
            plain.setSoTimeout(30_000);
            if (!tls) {
                return afterLogin(plain, member);
            }
            plain.getOutputStream().write(Pg.sslRequest());
            assertThat((char) plain.getInputStream().read()).as("the answer to the SSLRequest").isEqualTo('S');
            SSLContext trustAll = SSLContext.getInstance("TLS");
            trustAll.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String auth) { }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String auth) { }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, null);
            try (SSLSocket s = (SSLSocket) trustAll.getSocketFactory().createSocket(plain, host, port, false)) {
                s.startHandshake();
                return afterLogin(s, member);
            }
        }
    }

    private static String afterLogin(Socket s, String member) throws Exception {
        s.getOutputStream().write(Pg.startup("postgres"));
        DataInputStream in = new DataInputStream(s.getInputStream());
        byte type = in.readByte();
        byte[] auth = in.readNBytes(in.readInt() - 4);
        assertThat((char) type).as("the server's first message of a password login").isEqualTo('R');
        assertThat(ByteBuffer.wrap(auth).getInt()).as("AuthenticationSASL").isEqualTo(10);
        String pid = await("one backend of " + member + " in authentication").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(100)).until(() -> backendsInAuthentication(member), l -> l.size() == 1).get(0);
        assertThat(new ProcessBuilder("kill", "-TERM", pid).inheritIO().start().waitFor()).isZero();
        int next;
        try {
            next = in.read();
        } catch (SSLException | java.net.SocketException closed) {
            return "EOF"; // closed without TLS's close_notify
        }
        if (next < 0) {
            return "EOF";
        }
        byte[] body = in.readNBytes(in.readInt() - 4);
        return (char) next + new String(body, StandardCharsets.ISO_8859_1).replace('\0', ' ');
    }

    /** The pids of {@code member}'s backends whose process title says they are authenticating a TCP client. */
    static List<String> backendsInAuthentication(String member) throws Exception {
        String postmaster = Files.readAllLines(Path.of(LocalCluster.DIR, member, "data", "postmaster.pid")).get(0).trim();
        Process ps = new ProcessBuilder("ps", "-o", "pid=,args=", "--ppid", postmaster).start();
        String out = new String(ps.getInputStream().readAllBytes());
        ps.waitFor();
        return out.lines().map(String::trim).filter(l -> l.endsWith(" authentication") && !l.contains("[local]"))
                .map(l -> l.substring(0, l.indexOf(' '))).toList();
    }
}
