package io.patroxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MemberAddressTest {

    @Test
    void parsesEveryForm() {
        assertThat(MemberAddress.parse("postgresql0=127.0.0.2:5432:8008"))
                .isEqualTo(new MemberAddress("postgresql0", "127.0.0.2", 5432, 8008));
        assertThat(MemberAddress.parse("pg-master")).isEqualTo(new MemberAddress("pg-master:5432", "pg-master", 5432, 8008));
        assertThat(MemberAddress.parse("db:6432")).isEqualTo(new MemberAddress("db:6432", "db", 6432, 8008));
        assertThat(MemberAddress.parse(" n1 = 10.0.0.1:5433:8009 ")).isEqualTo(new MemberAddress("n1", "10.0.0.1", 5433, 8009));
    }

    @Test
    void parsesAList() {
        assertThat(MemberAddress.parseList("postgresql0=127.0.0.2:5432:8008,postgresql1=127.0.0.3:5432:8008"))
                .extracting(MemberAddress::name).containsExactly("postgresql0", "postgresql1");
    }

    @Test
    void rejectsBadInputWithAClearReason() {
        assertThatThrownBy(() -> MemberAddress.parse("n=h:abc")).hasMessageContaining("'abc' is not a number");
        assertThatThrownBy(() -> MemberAddress.parse("n=h:70000")).hasMessageContaining("70000 is outside 1-65535");
        assertThatThrownBy(() -> MemberAddress.parse("n=h:1:2:3")).hasMessageContaining("too many ':'");
        assertThatThrownBy(() -> MemberAddress.parse("=h")).hasMessageContaining("empty name");
        assertThatThrownBy(() -> MemberAddress.parse("n=")).hasMessageContaining("host ''");
        assertThatThrownBy(() -> MemberAddress.parseList("a=h1,a=h2")).hasMessageContaining("'a' appears twice");
        assertThatThrownBy(() -> MemberAddress.parseList(" , ")).hasMessageContaining("no member");
    }
}
