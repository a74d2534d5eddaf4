package io.patroxy.bench;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.patroxy.pgwire.ServerFraming;

/**
 * What following the server's message framing costs per relayed chunk, beside what relaying the
 * same chunk costs anyway (a copy into a socket-sized buffer stands in for the write). Chunks hold
 * DataRow messages of {@code rowBytes} each, like a SELECT's result; small rows are the worst case.
 * Run: scripts/bench-framing.sh
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ServerFramingBench {

    @Param({"16", "100", "1000"})
    int rowBytes;

    private ByteBuf chunk;
    private ByteBuf target;
    private final ServerFraming framing = new ServerFraming();

    @Setup
    public void setUp() {
        ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        chunk = alloc.directBuffer(16 * 1024);
        while (chunk.writableBytes() >= rowBytes + 5) {
            chunk.writeByte('D').writeInt(rowBytes + 4).writeZero(rowBytes);
        }
        target = alloc.directBuffer(chunk.capacity());
    }

    /** The relay's own work on a chunk: moving its bytes once. */
    @Benchmark
    public int relayOnly() {
        target.clear();
        target.writeBytes(chunk, chunk.readerIndex(), chunk.readableBytes());
        return target.readableBytes();
    }

    /** The same, plus following the framing. */
    @Benchmark
    public void relayAndFraming(Blackhole bh) {
        framing.consume(chunk);
        target.clear();
        target.writeBytes(chunk, chunk.readerIndex(), chunk.readableBytes());
        bh.consume(framing.atBoundary());
    }
}
