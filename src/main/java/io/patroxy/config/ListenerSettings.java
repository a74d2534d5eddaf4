package io.patroxy.config;

/**
 * One validated listener: what it is ({@code spec}), how its members are checked ({@code check}:
 * the shared settings with this listener's path) and how its sessions are served ({@code proxy}:
 * its address, maxconn and hold).
 */
public record ListenerSettings(ListenerSpec spec, CheckSettings check, ProxySettings proxy) {

    public String name() {
        return spec.name();
    }

    public Role role() {
        return spec.role();
    }
}
