package io.patroxy.proxy;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** Live session and byte counters of one member; written from event loops, read by stats. */
public final class MemberTraffic {
    final AtomicInteger current = new AtomicInteger();
    final AtomicInteger max = new AtomicInteger();
    final LongAdder total = new LongAdder();
    final LongAdder clientToServerBytes = new LongAdder();
    final LongAdder serverToClientBytes = new LongAdder();
    final LongAdder connectErrors = new LongAdder();

    void opened() {
        int now = current.incrementAndGet();
        max.accumulateAndGet(now, Math::max);
        total.increment();
    }

    public int current() {
        return current.get();
    }

    public int max() {
        return max.get();
    }

    public long total() {
        return total.sum();
    }

    public long clientToServerBytes() {
        return clientToServerBytes.sum();
    }

    public long serverToClientBytes() {
        return serverToClientBytes.sum();
    }

    public long connectErrors() {
        return connectErrors.sum();
    }
}
