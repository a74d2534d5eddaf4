package io.patroxy.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.Test;

class CheckOutcomesTest {

    private static final Duration D = Duration.ofMillis(7);
    private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");

    @Test
    void only200Passes() {
        assertThat(CheckOutcomes.fromResponse(200, "{}", D, AT).passed()).isTrue();
        CheckOutcome replica = CheckOutcomes.fromResponse(503, "{\"role\":\"replica\",\"timeline\":2}", D, AT);
        assertThat(replica.passed()).isFalse();
        assertThat(replica.status()).isEqualTo(CheckStatus.L7STS);
        assertThat(replica.httpCode()).isEqualTo(503);
        assertThat(replica.patroni().role()).isEqualTo("replica");
        assertThat(CheckOutcomes.fromResponse(204, "", D, AT).passed()).isFalse();
    }

    @Test
    void readsPatroniRoleAndTimelineInBothSpellings() {
        PatroniStatus old = CheckOutcomes.parsePatroni("{\"state\":\"running\",\"role\":\"master\",\"timeline\":3}");
        assertThat(old.role()).isEqualTo("primary");
        assertThat(old.timeline()).isEqualTo(3);
        assertThat(old.isPrimary()).isTrue();
        assertThat(CheckOutcomes.parsePatroni("{\"role\":\"primary\",\"timeline\":4}").isPrimary()).isTrue();
        assertThat(CheckOutcomes.parsePatroni("garbage{")).isEqualTo(PatroniStatus.UNKNOWN);
        assertThat(CheckOutcomes.parsePatroni("[1,2]")).isEqualTo(PatroniStatus.UNKNOWN);
    }

    /** Read leniently, as Patroni's answers were read with Jackson's tree model before Vert.x's JSON. */
    @Test
    void readsPatroniFieldsLenientlyWhateverTheirJsonType() {
        PatroniStatus sync = CheckOutcomes.parsePatroni(
                "{\"role\":\"replica\",\"sync_standby\":true,\"timeline\":\"5\",\"state\":\"streaming\",\"patroni\":{\"scope\":\"demo\"}}");
        assertThat(sync.role()).isEqualTo("sync_standby");
        assertThat(sync.timeline()).isEqualTo(5);
        assertThat(sync.state()).isEqualTo("streaming");
        assertThat(sync.scope()).isEqualTo("demo");
        assertThat(CheckOutcomes.parsePatroni("{\"role\":\"replica\",\"sync_standby\":\"false\"}").role()).isEqualTo("replica");
        PatroniStatus odd = CheckOutcomes.parsePatroni("{\"role\":7,\"timeline\":\"x\",\"state\":null,\"patroni\":[]}");
        assertThat(odd.role()).isEqualTo("7");
        assertThat(odd.timeline()).isEqualTo(-1);
        assertThat(odd.state()).isEqualTo("unknown"); // PatroniStatus names a missing state so
        assertThat(odd.scope()).isNull();
        assertThat(CheckOutcomes.parsePatroni("{}").timeline()).isEqualTo(-1);
        assertThat(CheckOutcomes.parsePatroni("\"text\"")).isEqualTo(PatroniStatus.UNKNOWN);
        assertThat(CheckOutcomes.parsePatroni("  ")).isEqualTo(PatroniStatus.UNKNOWN);
    }

    @Test
    void classifiesErrorsLikeHaproxy() {
        assertThat(CheckOutcomes.fromError(new RuntimeException(new ConnectException("Connection refused")), D, AT).status())
                .isEqualTo(CheckStatus.L4CON);
        assertThat(CheckOutcomes.fromError(new io.netty.channel.ConnectTimeoutException("connection timed out"), D, AT).status())
                .isEqualTo(CheckStatus.L4TOUT);
        assertThat(CheckOutcomes.fromError(new io.smallrye.mutiny.TimeoutException(), D, AT).status())
                .isEqualTo(CheckStatus.L7TOUT);
        assertThat(CheckOutcomes.fromError(new TimeoutException("read"), D, AT).status()).isEqualTo(CheckStatus.L7TOUT);
        assertThat(CheckOutcomes.fromError(new io.netty.handler.codec.DecoderException("bad"), D, AT).status())
                .isEqualTo(CheckStatus.L7RSP);
        CheckOutcome reset = CheckOutcomes.fromError(new IOException("Connection reset by peer"), D, AT);
        assertThat(reset.status()).isEqualTo(CheckStatus.SOCKERR);
        assertThat(reset.passed()).isFalse();
        assertThat(reset.duration()).isEqualTo(D);
    }
}
