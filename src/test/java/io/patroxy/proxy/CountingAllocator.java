package io.patroxy.proxy;

import java.util.ArrayList;
import java.util.List;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;

/**
 * An allocator that remembers every buffer it hands out, so a test can say exactly which were not
 * released — at once and without the garbage collector (Netty's leak detector reports a leak only
 * after the buffer was collected). Heap buffers only: the fuzz tests run millions of inputs.
 */
final class CountingAllocator extends AbstractByteBufAllocator {

    private final List<ByteBuf> handedOut = new ArrayList<>();

    CountingAllocator() {
        super(false);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        ByteBuf b = new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
        handedOut.add(b);
        return b;
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        return newHeapBuffer(initialCapacity, maxCapacity);
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }

    /** Fails naming how many buffers handed out since the last call are still held; then forgets them. */
    void assertAllReleased(String what) {
        long held = handedOut.stream().filter(b -> b.refCnt() != 0).count();
        int total = handedOut.size();
        handedOut.clear();
        if (held > 0) {
            throw new AssertionError(what + ": " + held + " of " + total + " buffers Patroxy allocated were never released");
        }
    }
}
