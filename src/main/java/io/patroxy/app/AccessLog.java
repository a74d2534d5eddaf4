package io.patroxy.app;

import org.jboss.logging.Logger;

import io.patroxy.proxy.Session;

/** One line per finished session, like HAProxy's tcplog. */
final class AccessLog {

    private static final Logger LOG = Logger.getLogger("io.patroxy.access");

    private AccessLog() {
    }

    static void log(Session s) {
        if (!LOG.isInfoEnabled()) {
            return;
        }
        LOG.infof("client=%s member=%s start=%s duration=%dms bytes_client_to_server=%d bytes_server_to_client=%d cause=%s",
                address(s.client().remoteAddress()), s.member() == null ? "-" : s.member().name(), s.started(),
                s.elapsed().toMillis(),
                s.clientToServerBytes(), s.serverToClientBytes(), s.cause().label());
    }

    /** 127.0.0.1:53126, without the leading slash of InetSocketAddress.toString(). */
    private static String address(java.net.SocketAddress a) {
        return a instanceof java.net.InetSocketAddress in ? in.getHostString() + ":" + in.getPort() : String.valueOf(a);
    }
}
