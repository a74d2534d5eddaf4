package io.patroxy.pgwire;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** Message boundaries and BackendKeyData found however the server's bytes are split into chunks. */
class ServerFramingTest {

    private static ByteBuf stream() {
        ByteBuf b = Unpooled.buffer();
        b.writeByte('R').writeInt(8).writeInt(0); // AuthenticationOk
        b.writeByte('S').writeInt(4 + 10).writeBytes("client_enc".getBytes()); // ParameterStatus (shortened)
        b.writeByte('K').writeInt(12).writeInt(4242).writeInt(77); // BackendKeyData
        b.writeByte('Z').writeInt(5).writeByte('I'); // ReadyForQuery
        b.writeByte('D').writeInt(4 + 300).writeZero(300); // a DataRow
        return b;
    }

    @Test
    void followsTheFramingWhateverTheChunkSize() {
        ByteBuf all = stream();
        for (int chunk = 1; chunk <= all.readableBytes(); chunk++) {
            ServerFraming f = new ServerFraming();
            for (int at = 0; at < all.readableBytes(); at += chunk) {
                ByteBuf piece = all.slice(at, Math.min(chunk, all.readableBytes() - at));
                int before = piece.readerIndex();
                f.consume(piece);
                assertThat(piece.readerIndex()).isEqualTo(before); // the bytes are left untouched
                boolean lastPiece = at + chunk >= all.readableBytes();
                if (lastPiece) {
                    assertThat(f.atBoundary()).as("chunk size %d", chunk).isTrue();
                }
            }
            assertThat(f.authenticated()).isTrue();
            assertThat(f.keySeen()).isTrue();
            assertThat(f.backendPid()).isEqualTo(4242);
            assertThat(f.backendSecret()).isEqualTo(77);
        }
    }

    @Test
    void isNotAtABoundaryInsideAMessage() {
        ServerFraming f = new ServerFraming();
        ByteBuf all = stream();
        f.consume(all.slice(0, 3));
        assertThat(f.atBoundary()).isFalse();
        f.consume(all.slice(3, 6));
        assertThat(f.atBoundary()).isTrue(); // the whole AuthenticationOk
        f.consume(all.slice(9, 2));
        assertThat(f.atBoundary()).isFalse();
    }

    @Test
    void readsTheSqlStateOfAServersFirstErrorResponse() {
        ByteBuf error = Unpooled.buffer();
        error.writeByte('E');
        int at = error.writerIndex();
        error.writeInt(0).writeByte('S').writeBytes("FATAL".getBytes()).writeByte(0)
                .writeByte('C').writeBytes("57P03".getBytes()).writeByte(0).writeByte(0);
        error.setInt(at, error.writerIndex() - at);
        assertThat(ServerFraming.firstMessageError(error.slice(0, 4), 16384)).isNull();
        assertThat(ServerFraming.firstMessageError(error, 16384)).isEqualTo("57P03");
        ByteBuf auth = Unpooled.buffer().writeByte('R').writeInt(12).writeInt(5).writeInt(1);
        assertThat(ServerFraming.firstMessageError(auth, 16384)).isEmpty();
    }

    /** Found by ServerFramingFuzzTest: a length of Integer.MIN_VALUE wrapped around to a 2 GB body. */
    @Test
    void aNegativeLengthIsAnEmptyBodyEvenAtTheBottomOfTheIntRange() {
        ByteBuf b = Unpooled.buffer();
        b.writeByte('D').writeInt(Integer.MIN_VALUE); // 'D', 0x80000000: what a broken server could send
        b.writeByte('Z').writeInt(5).writeByte('I');
        ServerFraming f = new ServerFraming();
        f.consume(b);
        assertThat(f.atBoundary()).as("as for any length below 4: no body, the next message follows").isTrue();
        b.release();
    }

    private static byte[] parameterStatus(String name, String value) {
        byte[] body = (name + "\0" + value + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        return java.nio.ByteBuffer.allocate(5 + body.length).put((byte) 'S').putInt(4 + body.length).put(body).array();
    }

    /** in_hot_standby = on / off, in one chunk or split anywhere; other parameters of the same lengths do not count. */
    @org.junit.jupiter.api.Test
    void followsInHotStandbyAcrossAnyChunking() {
        byte[] on = parameterStatus("in_hot_standby", "on");
        byte[] off = parameterStatus("in_hot_standby", "off");
        byte[] lookalike = parameterStatus("in_hot_standbx", "on");
        for (int split = 1; split < on.length; split++) {
            ServerFraming f = new ServerFraming();
            io.netty.buffer.ByteBuf a = io.netty.buffer.Unpooled.wrappedBuffer(on, 0, split);
            io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.wrappedBuffer(on, split, on.length - split);
            f.consume(a);
            f.consume(b);
            org.assertj.core.api.Assertions.assertThat(f.hotStandby()).as("split at " + split).isTrue();
            f.consume(io.netty.buffer.Unpooled.wrappedBuffer(off));
            org.assertj.core.api.Assertions.assertThat(f.hotStandby()).as("promoted").isFalse();
        }
        ServerFraming g = new ServerFraming();
        g.consume(io.netty.buffer.Unpooled.wrappedBuffer(lookalike));
        org.assertj.core.api.Assertions.assertThat(g.hotStandby()).isFalse();
        org.assertj.core.api.Assertions.assertThat(ServerFraming.saysHotStandby(io.netty.buffer.Unpooled.wrappedBuffer(on))).isTrue();
    }
}
