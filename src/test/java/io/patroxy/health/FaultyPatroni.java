package io.patroxy.health;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A member's Patroni REST API on a raw socket on 127.0.0.1, for the faults an HTTP server library
 * will not produce: a body that never ends, a Content-Length it never fills, a reset. One thread per
 * connection; a thread ends when the client closes its side, so a connection the client leaks also
 * leaves a thread here.
 */
final class FaultyPatroni implements AutoCloseable {

    enum Fault {
        /** 200 with a leader's JSON, as Patroni's {@code /primary} on the leader. */
        NONE,
        /** Reads the request, never answers. */
        HANG,
        HTTP_500,
        /** 200 whose body is not JSON. */
        GARBAGE_200,
        /** 200 with a chunked body that trickles a chunk every 50 ms, forever. */
        ENDLESS_BODY,
        /** 200 announcing 1000 bytes, sending a few, then silence. */
        SHORT_BODY,
        /** Reads the request, then closes with SO_LINGER 0: a TCP reset. */
        RESET
    }

    private static final String LEADER_JSON = "{\"state\":\"running\",\"role\":\"master\",\"timeline\":4}";

    private final ServerSocket server;
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger requests = new AtomicInteger();
    private volatile Fault fault = Fault.NONE;

    FaultyPatroni() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        Thread acceptor = new Thread(this::accept, "faulty-patroni-" + port());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    String url() {
        return "http://127.0.0.1:" + port() + "/primary";
    }

    void fault(Fault f) {
        fault = f;
    }

    int requests() {
        return requests.get();
    }

    /** Connections accepted and not yet closed by the client (or by {@link #close()}). */
    int openConnections() {
        return connections.size();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                connections.add(s);
                Thread t = new Thread(() -> serve(s), "faulty-patroni-" + port() + "-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            if (!readRequestHead(in)) {
                return;
            }
            requests.incrementAndGet();
            switch (fault) {
                case NONE -> answer(out, "200 OK", LEADER_JSON);
                case HTTP_500 -> answer(out, "500 Internal Server Error", "{\"error\":\"boom\"}");
                case GARBAGE_200 -> answer(out, "200 OK", "<html>not json{");
                case HANG -> awaitClientClose(s, 0);
                case SHORT_BODY -> {
                    out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"role\":"));
                    out.flush();
                    awaitClientClose(s, 0);
                }
                case ENDLESS_BODY -> {
                    out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
                    out.flush();
                    while (!awaitClientClose(s, 50)) { // a chunk every 50 ms, until the client goes away
                        out.write(ascii("1\r\n \r\n"));
                        out.flush();
                    }
                }
                case RESET -> s.setSoLinger(true, 0);
            }
        } catch (IOException e) {
            // the client went away, or close(): nothing to serve any more
        } finally {
            connections.remove(s);
        }
    }

    private static void answer(OutputStream out, String status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        out.write(ascii("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                + "\r\nConnection: close\r\n\r\n"));
        out.write(b);
        out.flush();
    }

    /** Reads up to the blank line that ends the request head; false if the client left first. */
    private static boolean readRequestHead(InputStream in) throws IOException {
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        for (int read = 0; read < 64 * 1024; read++) {
            int b = in.read();
            if (b < 0) {
                return false;
            }
            matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
            if (matched == end.length) {
                return true;
            }
        }
        throw new IOException("request head too long");
    }

    /** Waits up to {@code millis} (0: forever) for the client to close; true if it did. */
    private static boolean awaitClientClose(Socket s, int millis) throws IOException {
        // a read with a timeout paces the trickle and notices the client's close at once
        s.setSoTimeout(millis);
        try {
            while (s.getInputStream().read() >= 0) {
                // whatever else the client sends is ignored
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public String toString() {
        return "FaultyPatroni[" + port() + ", " + fault + "]";
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : connections) {
            s.close();
        }
    }
}
