package io.patroxy.stats;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.patroxy.proxy.TlsContexts;

/**
 * {@code patroxy_tls_certificate_expiry_seconds{certificate=...}}: the Unix time of each TLS
 * certificate's notAfter — {@code cert-file} (or {@code ephemeral}), {@code ca-file},
 * {@code server-ca-file} (a file's earliest) — read at every scrape, so a reload shows at once.
 */
final class TlsMetrics implements MeterBinder, AutoCloseable {

    private final TlsContexts tls;
    private final List<Meter> meters = new ArrayList<>();
    private MeterRegistry boundTo;

    TlsMetrics(TlsContexts tls) {
        this.tls = tls;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        boundTo = registry;
        for (String which : tls.certificates()) { // NaN until known (the ephemeral certificate is made beside the start)
            meters.add(Gauge.builder("patroxy.tls.certificate.expiry", tls, t -> {
                Instant notAfter = t.expiry().get(which);
                return notAfter == null ? Double.NaN : notAfter.getEpochSecond();
            }).description("Unix time when the certificate expires (its notAfter)").baseUnit("seconds")
                    .tags(Tags.of("certificate", which)).strongReference(true).register(registry));
        }
    }

    @Override
    public void close() {
        if (boundTo != null) {
            meters.forEach(boundTo::remove);
        }
    }
}
