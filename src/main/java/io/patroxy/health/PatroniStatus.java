package io.patroxy.health;

/**
 * What Patroni's REST API says of itself in a check's JSON body.
 * {@code role} is normalised: Patroni 3.0 says {@code master}, newer versions {@code primary}.
 */
public record PatroniStatus(String role, long timeline, String state, String scope) {

    public static final PatroniStatus UNKNOWN = new PatroniStatus("unknown", -1, "unknown", null);

    public PatroniStatus {
        role = "master".equals(role) ? "primary" : (role == null ? "unknown" : role);
        state = state == null ? "unknown" : state;
    }

    public boolean isPrimary() {
        return "primary".equals(role);
    }
}
