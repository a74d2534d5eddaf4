package io.patroxy.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Malformed and hostile HTTP on the stats port (Vert.x): huge headers, a huge request line,
 * binary garbage and slowloris clients are refused or bounded, and the stats and metrics still
 * answer beside them.
 */
@QuarkusTest
@QuarkusTestResource(value = io.patroxy.app.StubClusterResource.class, restrictToAnnotatedClass = true)
class HostileHttpTest {

    @TestHTTPResource("/")
    URL base;

    private Socket open() throws IOException {
        Socket s = new Socket(base.getHost(), base.getPort());
        s.setSoTimeout(10_000);
        return s;
    }

    /** Sends {@code bytes} and returns the status code of the answer ("" when the server just closed). */
    private String statusAfter(byte[] bytes) throws IOException {
        try (Socket s = open()) {
            try {
                s.getOutputStream().write(bytes);
            } catch (IOException refusedMidWrite) {
                // the server answered and closed before it read all of it: the answer is still there
            }
            String status = new String(s.getInputStream().readNBytes(12), StandardCharsets.ISO_8859_1);
            // "HTTP/1.1 431"; Vert.x answers "HTTP/1.0" when it could not read the request's version
            assertThat(status).matches("(HTTP/1\\.[01] \\d{3})?");
            return status.isEmpty() ? "" : status.substring(9);
        }
    }

    /** Both answer 200, each within 30 s (generous: a loaded CI machine, not a stall, should decide nothing). */
    private void statsStillAnswer() throws IOException {
        for (String path : new String[] {"/metrics", "/stats.json"}) {
            java.net.http.HttpRequest get = java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://" + base.getHost() + ":" + base.getPort() + path))
                    .timeout(java.time.Duration.ofSeconds(30)).GET().build();
            try {
                assertThat(CLIENT.send(get, java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode())
                        .as(path).isEqualTo(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
    }

    private static final java.net.http.HttpClient CLIENT = java.net.http.HttpClient.newBuilder()
            .connectTimeout(java.time.Duration.ofSeconds(10)).build();

    @Test
    void aHugeHeaderIsRefusedWith431() throws IOException {
        String huge = "GET /stats.json HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(1024 * 1024) + "\r\n\r\n";
        assertThat(statusAfter(huge.getBytes(StandardCharsets.US_ASCII))).isEqualTo("431");
        statsStillAnswer();
    }

    @Test
    void aHugeRequestLineIsRefusedWith414() throws IOException {
        String huge = "GET /" + "a".repeat(64 * 1024) + " HTTP/1.1\r\nHost: x\r\n\r\n";
        assertThat(statusAfter(huge.getBytes(StandardCharsets.US_ASCII))).isEqualTo("414");
        statsStillAnswer();
    }

    @Test
    void binaryGarbageIsABadRequest() throws IOException {
        byte[] garbage = new byte[64 * 1024];
        new Random(15).nextBytes(garbage);
        garbage[0] = 0x16; // a TLS ClientHello's first byte, as a scanner would send
        assertThat(statusAfter(garbage)).isIn("400", "");
        statsStillAnswer();
    }

    @Test
    void slowlorisClientsDoNotStopTheStatsFromAnswering() throws Exception {
        List<Socket> loris = new ArrayList<>();
        try {
            for (int i = 0; i < 200; i++) {
                Socket s = open();
                s.getOutputStream().write("GET /stats.json HTTP/1.1\r\nHost: x\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
                loris.add(s);
            }
            for (int round = 0; round < 10; round++) {
                for (Socket s : loris) {
                    OutputStream out = s.getOutputStream();
                    out.write('a'); // a header that never ends
                }
                statsStillAnswer();
            }
        } finally {
            for (Socket s : loris) {
                s.close();
            }
        }
        statsStillAnswer();
    }
}
