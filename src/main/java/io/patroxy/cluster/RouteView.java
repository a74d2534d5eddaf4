package io.patroxy.cluster;

/**
 * The snapshots one listener routes by, taken together: immutable, safe to read from any thread.
 *
 * @param own      the listener's own members' check state
 * @param fallback the leader listener's, for a balanced listener with fallback; else null
 */
public record RouteView(Routing routing, ClusterView own, ClusterView fallback) {

    /** What a client refused for want of a member is told. */
    public String noneMessage() {
        if (routing.leaderRole()) {
            return own.noLeaderMessage();
        }
        return "no member of listener " + routing.listener() + " is UP in cluster " + own.scope() + ": " + own.describeMembers();
    }

    /** The name of the member new sessions go to on a leader role, else null. */
    public String leaderName() {
        return own.leaderName().orElse(null);
    }
}
