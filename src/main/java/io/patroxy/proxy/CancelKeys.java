package io.patroxy.proxy;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.patroxy.config.MemberAddress;

/**
 * BackendKeyData of live sessions → the member each session is on. A CancelRequest arrives on a
 * new connection and must reach that member, never another one.
 */
public final class CancelKeys {

    private final Map<Long, MemberAddress> keys = new ConcurrentHashMap<>();

    static long key(int pid, int secret) {
        return ((long) pid << 32) | (secret & 0xffffffffL);
    }

    void register(int pid, int secret, MemberAddress member) {
        keys.put(key(pid, secret), member);
    }

    void remove(int pid, int secret) {
        keys.remove(key(pid, secret));
    }

    /** The member of the live session with this key, or null when it is gone. */
    MemberAddress lookup(int pid, int secret) {
        return keys.get(key(pid, secret));
    }

    public int size() {
        return keys.size();
    }
}
