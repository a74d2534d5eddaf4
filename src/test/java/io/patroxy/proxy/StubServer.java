package io.patroxy.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** A TCP server standing in for PostgreSQL: each connection is handed to a behaviour on its own thread. */
public final class StubServer implements AutoCloseable {

    @FunctionalInterface
    public interface Behaviour {
        void serve(Socket socket) throws IOException;
    }

    public static final Behaviour ECHO = socket -> {
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        byte[] buf = new byte[16 * 1024];
        for (int n; (n = in.read(buf)) >= 0;) {
            out.write(buf, 0, n);
        }
        socket.close();
    };

    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    public final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private volatile Behaviour behaviour;

    public StubServer(Behaviour behaviour) throws IOException {
        this.behaviour = behaviour;
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        threads.execute(this::acceptLoop);
    }

    public int port() {
        return server.getLocalPort();
    }

    public void behaviour(Behaviour b) {
        this.behaviour = b;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                accepted.add(s);
                Behaviour b = behaviour;
                threads.execute(() -> {
                    try {
                        b.serve(s);
                    } catch (IOException ignored) {
                        // the peer went away: that is what several tests do on purpose
                    }
                });
            } catch (IOException e) {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : accepted) {
            s.close();
        }
        threads.shutdownNow();
    }
}
