package io.patroxy.stats;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * For the native image (unverified here, see README): the stats records are read by reflection —
 * by Qute's ReflectionValueResolver for the page (the JSON is written field by field, StatsJson) — so they are registered.
 * The page's template is included as a resource in application.properties.
 */
@RegisterForReflection(targets = {StatsSnapshot.class, StatsSnapshot.Frontend.class, StatsSnapshot.Backend.class,
        StatsSnapshot.Server.class, StatsSnapshot.Check.class, StatsSnapshot.Leadership.class,
        StatsSnapshot.LeaderChange.class})
final class NativeImageHints {

    private NativeImageHints() {
    }
}
