package io.patroxy.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.patroxy.config.MemberAddress;

/** Opens a session's server connections, always on the client's own event loop. */
interface Connector {

    /**
     * Connects to {@code member}'s PostgreSQL with {@code handler} last in the new channel's
     * pipeline, named {@code "handshake"}; AUTO_READ is off until relaying starts.
     */
    ChannelFuture connect(Channel client, MemberAddress member, ChannelHandler handler);
}
