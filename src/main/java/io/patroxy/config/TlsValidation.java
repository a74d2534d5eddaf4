package io.patroxy.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

import javax.net.ssl.SSLContext;

/**
 * The TLS part of {@link ConfigValidation}: modes, files (readable, PEM, the certificate and the
 * key together), protocols and cipher suites. Every problem names its key; file contents are
 * never quoted (a key file is a secret).
 */
final class TlsValidation {

    private static final Set<String> PROTOCOLS = Set.of("TLSv1.2", "TLSv1.3");

    private final List<String> problems;
    private final List<String> warnings;

    TlsValidation(List<String> problems, List<String> warnings) {
        this.problems = problems;
        this.warnings = warnings;
    }

    TlsSettings validate(PatroxyConfig.Tls tls, PatroxyConfig.ServerTls server) {
        TlsSettings.ClientMode mode = clientMode(tls.mode());
        Optional<Path> cert = readable("patroxy.tls.cert-file", tls.certFile());
        Optional<Path> key = readable("patroxy.tls.key-file", tls.keyFile());
        Optional<Path> ca = readable("patroxy.tls.ca-file", tls.caFile());
        if (tls.certFile().isPresent() != tls.keyFile().isPresent()) {
            problems.add(tls.certFile().isPresent()
                    ? "patroxy.tls.cert-file is set but patroxy.tls.key-file is not: give both (PEM), or neither for an ephemeral self-signed certificate"
                    : "patroxy.tls.key-file is set but patroxy.tls.cert-file is not: give both (PEM), or neither for an ephemeral self-signed certificate");
        }
        cert.ifPresent(p -> certificates("patroxy.tls.cert-file", p));
        key.ifPresent(p -> privateKey("patroxy.tls.key-file", p));
        ca.ifPresent(p -> certificates("patroxy.tls.ca-file", p));
        if (ca.isPresent() && mode == TlsSettings.ClientMode.PASSTHROUGH) {
            warnings.add("patroxy.tls.ca-file is ignored with patroxy.tls.mode=passthrough: client certificates go to"
                    + " PostgreSQL itself (set patroxy.tls.mode=terminate to verify them in Patroxy)");
        }
        List<String> protocols = list(tls.protocols());
        if (protocols.isEmpty()) {
            problems.add("patroxy.tls.protocols='" + tls.protocols() + "': name at least one of TLSv1.2, TLSv1.3");
        }
        protocols.stream().filter(p -> !PROTOCOLS.contains(p)).forEach(p -> problems.add("patroxy.tls.protocols='"
                + tls.protocols() + "': " + p + " is not allowed (TLSv1.2 and TLSv1.3 only)"));
        List<String> ciphers = tls.ciphers().map(TlsValidation::list).orElse(List.of());
        if (tls.ciphers().isPresent()) {
            ciphers(tls.ciphers().get(), ciphers);
        }
        Optional<TlsSettings.ServerMode> serverMode = TlsSettings.ServerMode.parse(server.mode().trim().toLowerCase(Locale.ROOT));
        if (serverMode.isEmpty()) {
            problems.add("patroxy.server.tls.mode='" + server.mode() + "': must be disable, prefer, require, verify-ca or verify-full");
        }
        Optional<Path> serverCa = readable("patroxy.server.tls.ca-file", server.caFile());
        serverCa.ifPresent(p -> certificates("patroxy.server.tls.ca-file", p));
        TlsSettings.ServerMode sm = serverMode.orElse(TlsSettings.ServerMode.PREFER);
        if (sm.verifiesChain() && server.caFile().isEmpty()) {
            problems.add("patroxy.server.tls.mode=" + sm.label() + " needs patroxy.server.tls.ca-file: the PEM CA certificates"
                    + " that signed PostgreSQL's certificates");
        }
        if (mode == TlsSettings.ClientMode.PASSTHROUGH && sm != TlsSettings.ServerMode.PREFER) {
            warnings.add("patroxy.server.tls.mode=" + sm.label() + " is ignored with patroxy.tls.mode=passthrough: the client's"
                    + " own TLS (or plaintext) goes to PostgreSQL");
        }
        if (server.caFile().isPresent() && !sm.verifiesChain()) {
            warnings.add("patroxy.server.tls.ca-file is used only with patroxy.server.tls.mode=verify-ca or verify-full");
        }
        return new TlsSettings(mode == null ? TlsSettings.ClientMode.PASSTHROUGH : mode, cert, key, ca, protocols, ciphers, sm, serverCa);
    }

    private TlsSettings.ClientMode clientMode(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        for (TlsSettings.ClientMode m : TlsSettings.ClientMode.values()) {
            if (m.label().equals(v)) {
                return m;
            }
        }
        problems.add("patroxy.tls.mode='" + value + "': must be passthrough, terminate or require");
        return null;
    }

    private Optional<Path> readable(String key, Optional<String> file) {
        if (file.isEmpty()) {
            return Optional.empty();
        }
        Path p = Path.of(file.get());
        if (!Files.isRegularFile(p)) {
            problems.add(key + "='" + file.get() + "': no such file");
            return Optional.empty();
        }
        if (!Files.isReadable(p)) {
            problems.add(key + "='" + file.get() + "': not readable by Patroxy's user");
            return Optional.empty();
        }
        return Optional.of(p);
    }

    private void certificates(String key, Path p) {
        try (InputStream in = Files.newInputStream(p)) {
            if (CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
                problems.add(key + "='" + p + "': no PEM certificate in it");
            }
        } catch (IOException | CertificateException e) {
            problems.add(key + "='" + p + "': not a PEM certificate file (" + e.getMessage() + ")");
        }
    }

    /** A quick look only (never quoting the file): the TLS library parses the key when Patroxy starts. */
    private void privateKey(String key, Path p) {
        try {
            String pem = Files.readString(p, StandardCharsets.US_ASCII);
            if (pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
                problems.add(key + "='" + p + "': the key is encrypted; give it unencrypted (readable by Patroxy's user only)");
            } else if (!pem.matches("(?s).*-----BEGIN ([A-Z]+ )?PRIVATE KEY-----.*")) {
                problems.add(key + "='" + p + "': no PEM private key in it (-----BEGIN PRIVATE KEY-----)");
            }
        } catch (IOException | RuntimeException e) {
            problems.add(key + "='" + p + "': cannot be read (" + e.getClass().getSimpleName() + ")");
        }
    }

    private void ciphers(String value, List<String> ciphers) {
        Set<String> supported;
        try {
            supported = Set.of(SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites());
        } catch (java.security.NoSuchAlgorithmException e) {
            return;
        }
        if (ciphers.isEmpty()) {
            problems.add("patroxy.tls.ciphers='" + value + "': name at least one cipher suite, or leave it unset");
        }
        List<String> unknown = new ArrayList<>(ciphers.stream().filter(c -> !supported.contains(c)).toList());
        if (!unknown.isEmpty()) {
            problems.add("patroxy.tls.ciphers: unknown cipher suites " + unknown + " (JDK names, e.g. TLS_AES_128_GCM_SHA256,"
                    + " TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
        }
    }

    private static List<String> list(String value) {
        return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
}
