package io.patroxy.stats;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import io.patroxy.cluster.ClusterListener;
import io.patroxy.cluster.ClusterView;
import io.patroxy.cluster.MemberView;

/**
 * Counts DOWN → UP transitions per member, the counterpart of {@link MemberView#downTransitions()}
 * (HAProxy's {@code chkdown}). A member's first check result, which only ends its initial
 * "not checked yet" state, is not a transition.
 */
public final class UpTransitions implements ClusterListener {

    private final Map<String, LongAdder> ups = new ConcurrentHashMap<>();

    public UpTransitions(List<String> members) {
        members.forEach(m -> ups.put(m, new LongAdder()));
    }

    @Override
    public void onChange(ClusterView before, ClusterView after) {
        for (MemberView m : after.members()) {
            MemberView was = before.member(m.name()).orElse(m);
            if (was.health().checked() && !was.isUp() && m.isUp()) {
                ups.computeIfAbsent(m.name(), k -> new LongAdder()).increment();
            }
        }
    }

    public long of(String member) {
        LongAdder n = ups.get(member);
        return n == null ? 0 : n.sum();
    }
}
