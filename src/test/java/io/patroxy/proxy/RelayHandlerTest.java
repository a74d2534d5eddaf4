package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.patroxy.config.MemberAddress;

/** The relay handler in isolation: bytes forwarded as-is, counted, and never leaked. */
class RelayHandlerTest {

    private final MemberAddress member = new MemberAddress("pg0", "127.0.0.1", 5432, 8008);
    private final SessionRegistry registry = new SessionRegistry(List.of(member), 10, () -> null, s -> { });

    /** A relaying session between two embedded channels. */
    private Session session(EmbeddedChannel client, EmbeddedChannel server) {
        Session session = registry.admit(client);
        registry.route(session, member);
        session.relaying(server, null, registry.relayStarted(session), false);
        return session;
    }

    @Test
    void forwardsToThePeerAndCounts() {
        EmbeddedChannel client = new EmbeddedChannel();
        EmbeddedChannel server = new EmbeddedChannel();
        Session session = session(client, server);
        client.pipeline().addLast(RelayHandler.clientToServer(session));

        ByteBuf msg = Unpooled.copiedBuffer(new byte[] {1, 2, 3});
        client.writeInbound(msg);
        ByteBuf relayed = server.readOutbound();
        assertThat(relayed).isSameAs(msg);
        assertThat(relayed.readableBytes()).isEqualTo(3);
        relayed.release();
        assertThat(msg.refCnt()).isZero();
        assertThat(session.clientToServerBytes()).isEqualTo(3);
        assertThat(registry.traffic("pg0").clientToServerBytes()).isEqualTo(3);
    }

    @Test
    void releasesWhatItCannotForward() {
        EmbeddedChannel client = new EmbeddedChannel();
        EmbeddedChannel server = new EmbeddedChannel();
        Session session = session(client, server);
        client.pipeline().addLast(RelayHandler.clientToServer(session));
        server.close();

        ByteBuf msg = Unpooled.copiedBuffer(new byte[] {1, 2, 3});
        client.writeInbound(msg);
        assertThat(msg.refCnt()).isZero();
        assertThat(session.clientToServerBytes()).isZero();
    }

    @Test
    void stopsReadingThePeerWhileThisSideIsUnwritable() {
        EmbeddedChannel client = new EmbeddedChannel();
        EmbeddedChannel server = new EmbeddedChannel();
        Session session = session(client, server);
        RelayHandler serverToClient = RelayHandler.serverToClient(session);
        server.pipeline().addLast(serverToClient);
        client.pipeline().addLast(RelayHandler.clientToServer(session));
        client.config().setWriteBufferWaterMark(new io.netty.channel.WriteBufferWaterMark(8, 16));

        // fill the client's outbound buffer past the high water mark without flushing
        client.write(Unpooled.wrappedBuffer(new byte[32]));
        assertThat(client.isWritable()).isFalse();
        assertThat(server.config().isAutoRead()).isFalse();
        client.flush(); // the embedded channel writes it out: writable again
        assertThat(client.isWritable()).isTrue();
        assertThat(server.config().isAutoRead()).isTrue();
        ByteBuf out = client.readOutbound();
        out.release();
    }
}
