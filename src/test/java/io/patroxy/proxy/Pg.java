package io.patroxy.proxy;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Just enough of the PostgreSQL wire protocol for tests: a StartupMessage, and messages read back. */
public final class Pg {

    public record Message(char type, byte[] body) {
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** An ErrorResponse's field, e.g. 'C' for the SQLSTATE or 'M' for the message. */
        public String field(char code) {
            int i = 0;
            while (i < body.length && body[i] != 0) {
                int end = i + 1;
                while (body[end] != 0) {
                    end++;
                }
                if (body[i] == code) {
                    return new String(body, i + 1, end - i - 1, StandardCharsets.UTF_8);
                }
                i = end + 1;
            }
            return null;
        }
    }

    private Pg() {
    }

    public static byte[] startup(String user) {
        ByteArrayOutputStream params = new ByteArrayOutputStream();
        for (String s : new String[] {"user", user, "database", "postgres"}) {
            params.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            params.write(0);
        }
        params.write(0);
        byte[] p = params.toByteArray();
        return ByteBuffer.allocate(8 + p.length).putInt(8 + p.length).putInt(3 << 16).put(p).array();
    }

    public static final byte[] STARTUP = startup("tester");

    /** What the stub server answers a startup with: AuthenticationOk, BackendKeyData(4242, 77), ReadyForQuery. */
    public static final byte[] AUTH_OK_READY = ByteBuffer.allocate(9 + 13 + 6)
            .put((byte) 'R').putInt(8).putInt(0)
            .put((byte) 'K').putInt(12).putInt(4242).putInt(77)
            .put((byte) 'Z').putInt(5).put((byte) 'I').array();

    /** A simple Query message ('Q'). */
    public static byte[] query(String sql) {
        byte[] q = (sql + "\0").getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(5 + q.length).put((byte) 'Q').putInt(4 + q.length).put(q).array();
    }

    public static byte[] sslRequest() {
        return ByteBuffer.allocate(8).putInt(8).putInt(80877103).array();
    }

    public static byte[] cancelRequest(int pid, int secret) {
        return ByteBuffer.allocate(16).putInt(16).putInt(80877102).putInt(pid).putInt(secret).array();
    }

    public static byte[] errorResponse(String sqlState, String message) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String f : new String[] {"SFATAL", "C" + sqlState, "M" + message}) {
            b.writeBytes(f.getBytes(StandardCharsets.UTF_8));
            b.write(0);
        }
        b.write(0);
        byte[] body = b.toByteArray();
        return ByteBuffer.allocate(5 + body.length).put((byte) 'E').putInt(4 + body.length).put(body).array();
    }

    public static Message read(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        char type = (char) d.readUnsignedByte();
        int len = d.readInt();
        byte[] body = new byte[len - 4];
        d.readFully(body);
        return new Message(type, body);
    }

    /** Sends a StartupMessage and reads the stub's AuthenticationOk + BackendKeyData + ReadyForQuery. */
    public static void login(Socket s) throws IOException {
        s.getOutputStream().write(STARTUP);
        byte[] answer = s.getInputStream().readNBytes(AUTH_OK_READY.length);
        if (!java.util.Arrays.equals(answer, AUTH_OK_READY)) {
            throw new AssertionError("unexpected answer to the startup: " + new String(answer, StandardCharsets.ISO_8859_1));
        }
    }

    /** Reads and discards the StartupMessage a client sends first. */
    public static void skipStartup(Socket socket) throws IOException {
        DataInputStream in = new DataInputStream(socket.getInputStream());
        in.readFully(new byte[in.readInt() - 4]);
    }

    /** A stub PostgreSQL: reads the StartupMessage, answers AUTH_OK_READY, then does {@code then}. */
    public static StubServer.Behaviour server(StubServer.Behaviour then) {
        return socket -> {
            skipStartup(socket);
            OutputStream out = socket.getOutputStream();
            out.write(AUTH_OK_READY);
            out.flush();
            then.serve(socket);
        };
    }
}
