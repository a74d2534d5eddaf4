package io.patroxy.pgwire;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.BitSet;

import com.code_intelligence.jazzer.junit.FuzzTest;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Coverage-guided fuzzing (Jazzer) of what Patroxy parses of a server's bytes: {@link ServerFraming}
 * over any byte stream cut into any chunks must agree with a plain reference walk of the whole
 * stream (message boundaries, BackendKeyData), never read out of bounds nor move the buffer's
 * indexes; {@link ServerFraming#firstMessageError} and {@link ErrorResponse#sqlState} take any
 * bytes. Without {@code -Djazzer.fuzz} this replays the inputs saved under
 * {@code src/test/resources/io/patroxy/pgwire/ServerFramingFuzzTestInputs}.
 */
class ServerFramingFuzzTest {

    /** The input: the number of cuts (first byte, 0-15), each a 2-byte offset, then the server's stream. */
    @FuzzTest(maxDuration = "15s")
    void framingAgreesWithAReferenceWalkWhateverTheChunks(byte[] input) {
        ByteBuf in = Unpooled.wrappedBuffer(input);
        int cutCount = in.isReadable() ? in.readUnsignedByte() & 15 : 0;
        int[] cuts = new int[Math.min(cutCount, in.readableBytes() / 2)];
        for (int i = 0; i < cuts.length; i++) {
            cuts[i] = in.readUnsignedShort();
        }
        byte[] stream = new byte[in.readableBytes()];
        in.readBytes(stream);
        Reference ref = new Reference(stream);

        int[] ends = Arrays.stream(cuts).map(c -> c % (stream.length + 1)).sorted().distinct().toArray();
        ServerFraming f = new ServerFraming();
        int at = 0;
        for (int end : append(ends, stream.length)) {
            ByteBuf chunk = Unpooled.wrappedBuffer(stream, at, end - at);
            f.consume(chunk);
            assertThat(chunk.readerIndex()).as("indexes untouched").isZero();
            assertThat(chunk.writerIndex()).isEqualTo(end - at);
            assertThat(f.atBoundary()).as("boundary after byte %d of %d", end, stream.length).isEqualTo(ref.boundary(end));
            at = end;
        }
        assertThat(f.keySeen()).isEqualTo(ref.keySeen);
        if (ref.keySeen) {
            assertThat(f.backendPid()).isEqualTo(ref.pid);
            assertThat(f.backendSecret()).isEqualTo(ref.secret);
        }

        ByteBuf whole = Unpooled.wrappedBuffer(stream);
        String state = ServerFraming.firstMessageError(whole, 16 * 1024);
        assertThat(whole.readerIndex()).isZero();
        if (state != null && !state.isEmpty()) {
            assertThat(stream[0]).isEqualTo((byte) 'E');
        }
        ErrorResponse.sqlState(Unpooled.wrappedBuffer(stream));
    }

    private static int[] append(int[] a, int last) {
        int[] r = Arrays.copyOf(a, a.length + 1);
        r[a.length] = last;
        return r;
    }

    /** PostgreSQL's framing walked the plain way: type byte, int32 length counting itself, body. */
    private static final class Reference {
        private final BitSet boundaries = new BitSet();
        boolean keySeen;
        int pid;
        int secret;

        Reference(byte[] s) {
            ByteBuf b = Unpooled.wrappedBuffer(s);
            long pos = 0;
            boundaries.set(0);
            while (pos + 5 <= s.length) {
                byte type = s[(int) pos];
                long length = b.getInt((int) pos + 1);
                long body = Math.max(0, length - 4);
                if (type == 'K' && body >= 8 && pos + 5 + 8 <= s.length) {
                    keySeen = true;
                    pid = b.getInt((int) pos + 5);
                    secret = b.getInt((int) pos + 9);
                }
                pos += 5 + body;
                if (pos <= s.length) {
                    boundaries.set((int) pos);
                }
            }
        }

        boolean boundary(int offset) {
            return boundaries.get(offset);
        }
    }
}
