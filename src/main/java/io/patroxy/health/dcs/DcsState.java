package io.patroxy.health.dcs;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import io.patroxy.config.MemberAddress;

/**
 * What Patroni's DCS says, as far as Patroxy follows it: an immutable value, so comparing two is
 * comparing only what matters (the leader key and each member's address and role).
 *
 * @param connected false while the watch has no ZooKeeper session (nothing it says then counts)
 * @param leader    the leader key's value (Patroni's member name), or null when there is no key
 * @param members   by Patroni's member name
 */
public record DcsState(boolean connected, String leader, Map<String, DcsMember> members) {

    /** Not connected: routing by polling only. */
    public static final DcsState DISCONNECTED = new DcsState(false, null, Map.of());

    public DcsState {
        members = java.util.Collections.unmodifiableMap(new TreeMap<>(members));
    }

    /** From the nodes' contents: the leader key's (null when absent) and each member node's. */
    public static DcsState of(byte[] leaderKey, Map<String, byte[]> memberNodes) {
        String leader = leaderKey == null ? null : new String(leaderKey, java.nio.charset.StandardCharsets.UTF_8).trim();
        Map<String, DcsMember> members = new TreeMap<>();
        memberNodes.forEach((name, data) -> members.put(name, DcsMember.parse(name, data)));
        return new DcsState(true, leader == null || leader.isEmpty() ? null : leader, members);
    }

    /**
     * Patroxy's member holding the leader key: the one whose PostgreSQL address is the key holder's
     * {@code conn_url} host:port, whatever the names. Empty when not connected, no key, the holder
     * has no member node, or none of {@code ours} is at its address.
     */
    public Optional<MemberAddress> leaderAmong(List<MemberAddress> ours) {
        if (!connected || leader == null) {
            return Optional.empty();
        }
        DcsMember holder = members.get(leader);
        if (holder == null) {
            return Optional.empty();
        }
        return ours.stream().filter(m -> holder.isAt(m.host(), m.pgPort())).findFirst();
    }
}
