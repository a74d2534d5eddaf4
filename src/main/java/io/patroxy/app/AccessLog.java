package io.patroxy.app;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

import org.jboss.logging.Logger;

import io.patroxy.proxy.Session;

/**
 * One line per finished session, like HAProxy's tcplog (with several listeners, it begins with the
 * listener's name). Written on the session's event loop, once
 * per connection: the line is put together with a StringBuilder, not a format string (which
 * java.util.Formatter parses again on every call), and the logger is asked once whether it is on.
 */
final class AccessLog {

    private static final Logger LOG = Logger.getLogger("io.patroxy.access");

    private AccessLog() {
    }

    static void log(Session s) {
        if (!LOG.isInfoEnabled()) {
            return;
        }
        LOG.info(line(s));
    }

    static String line(Session s) {
        StringBuilder b = new StringBuilder(192);
        if (!s.listener().isEmpty()) {
            b.append("listener=").append(s.listener()).append(' ');
        }
        b.append("client=");
        address(b, s.client().remoteAddress());
        return b.append(" member=").append(s.member() == null ? "-" : s.member().name())
                .append(" start=").append(s.started())
                .append(" duration=").append(s.elapsed().toMillis())
                .append("ms bytes_client_to_server=").append(s.clientToServerBytes())
                .append(" bytes_server_to_client=").append(s.serverToClientBytes())
                .append(" cause=").append(s.cause().label())
                .toString();
    }

    /** 127.0.0.1:53126, without the leading slash of InetSocketAddress.toString(). */
    private static void address(StringBuilder b, SocketAddress a) {
        if (a instanceof InetSocketAddress in) {
            b.append(in.getHostString()).append(':').append(in.getPort());
        } else {
            b.append(a);
        }
    }
}
