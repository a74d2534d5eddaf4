package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.patroxy.config.MemberAddress;
import io.patroxy.config.TlsSettings.ServerMode;
import io.patroxy.proxy.ServerTlsLeg.Answer;

/** The server's answer to Patroxy's own SSLRequest, for every mode: a pure decision. */
class ServerTlsLegTest {

    private static Answer answer(String bytes, ServerMode mode) {
        ByteBuf in = Unpooled.copiedBuffer(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
        try {
            return ServerTlsLeg.answer(in, mode);
        } finally {
            in.release();
        }
    }

    @Test
    void sAloneStartsTlsAndSWithBytesAfterItIsRefusedInEveryMode() {
        for (ServerMode mode : ServerMode.values()) {
            assertThat(answer("S", mode)).as(mode.label()).isEqualTo(Answer.START_TLS);
            assertThat(answer("SE", mode)).as(mode.label() + ": bytes after 'S' (CVE-2021-23222)").isEqualTo(Answer.REFUSE_DATA_AFTER_S);
        }
    }

    @Test
    void nGoesOnInPlaintextOnlyWhereTheModeAllowsIt() {
        assertThat(answer("N", ServerMode.PREFER)).isEqualTo(Answer.PLAINTEXT);
        for (ServerMode mode : new ServerMode[] {ServerMode.REQUIRE, ServerMode.VERIFY_CA, ServerMode.VERIFY_FULL}) {
            assertThat(answer("N", mode)).as(mode.label()).isEqualTo(Answer.REFUSE_NO_TLS);
        }
        assertThat(answer("E\0\0\0\5x", ServerMode.REQUIRE)).as("an error instead of an answer").isEqualTo(Answer.NOT_AN_ANSWER);
    }

    @Test
    void aRefusalNamesTheMemberTheModeAndWhy() {
        MemberAddress m = new MemberAddress("postgresql0", "127.0.0.2", 5432, 8008);
        assertThat(ServerTlsLeg.refusal(m, ServerMode.VERIFY_FULL, ServerTlsLeg.why(Answer.REFUSE_NO_TLS)))
                .isEqualTo("Patroxy could not open TLS to member postgresql0 at 127.0.0.2:5432 (patroxy.server.tls.mode=verify-full): "
                        + "it does not accept TLS (it answered 'N' to Patroxy's SSLRequest)");
        assertThatThrownBy(() -> ServerTlsLeg.why(Answer.START_TLS)).isInstanceOf(IllegalArgumentException.class);
    }
}
