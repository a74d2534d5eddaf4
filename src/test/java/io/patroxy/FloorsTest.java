package io.patroxy;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import org.junit.jupiter.api.Test;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;

/**
 * The floors, each importing only those below it: {@code config}, {@code pgwire} → {@code health}
 * → {@code cluster} → {@code proxy} → {@code stats} → {@code app}. An arrow that points up fails
 * the build (docs/architecture.md).
 */
class FloorsTest {

    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.patroxy");

    @Test
    void everyArrowPointsDown() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("config").definedBy("io.patroxy.config..")
                .layer("pgwire").definedBy("io.patroxy.pgwire..")
                .layer("health").definedBy("io.patroxy.health..")
                .layer("cluster").definedBy("io.patroxy.cluster..")
                .layer("proxy").definedBy("io.patroxy.proxy..")
                .layer("stats").definedBy("io.patroxy.stats..")
                .layer("app").definedBy("io.patroxy.app..")
                .whereLayer("app").mayNotBeAccessedByAnyLayer()
                .whereLayer("stats").mayOnlyBeAccessedByLayers("app")
                .whereLayer("proxy").mayOnlyBeAccessedByLayers("stats", "app")
                .whereLayer("cluster").mayOnlyBeAccessedByLayers("proxy", "stats", "app")
                .whereLayer("health").mayOnlyBeAccessedByLayers("cluster", "proxy", "stats", "app")
                .whereLayer("pgwire").mayOnlyBeAccessedByLayers("proxy", "stats", "app")
                .whereLayer("config").mayOnlyBeAccessedByLayers("pgwire", "health", "cluster", "proxy", "stats", "app")
                .check(MAIN);
    }
}
