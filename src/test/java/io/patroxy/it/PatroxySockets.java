package io.patroxy.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The kernel's view of one process's TCP connections (Linux {@code /proc}): the local ports of
 * its ESTABLISHED connections to one address and port. Patroxy runs on this machine, so this
 * says whether it still holds a connection to a member's PostgreSQL — whatever its stats say,
 * and whatever PostgreSQL, which may keep a backend after its client left, says.
 */
final class PatroxySockets {

    private static final String ESTABLISHED = "01";

    private PatroxySockets() {
    }

    /** Local ports of {@code pid}'s ESTABLISHED TCP connections to {@code ipv4:port} (IPv4 or IPv4-mapped IPv6 sockets). */
    static Set<Integer> established(long pid, String ipv4, int port) {
        Set<String> inodes = socketInodes(pid);
        String[] b = ipv4.split("\\.");
        // /proc/net/tcp prints an IPv4 address as its 4 bytes in host (little-endian) order, the port big-endian
        String remote = String.format(Locale.ROOT, "%02X%02X%02X%02X:%04X", Integer.parseInt(b[3]), Integer.parseInt(b[2]),
                Integer.parseInt(b[1]), Integer.parseInt(b[0]), port);
        Set<Integer> ports = new HashSet<>();
        for (String table : new String[] {"tcp", "tcp6"}) {
            try (Stream<String> lines = Files.lines(Path.of("/proc", String.valueOf(pid), "net", table))) {
                lines.skip(1).map(String::trim).map(l -> l.split("\\s+")).filter(f -> f.length > 9)
                        .filter(f -> f[2].endsWith(remote) && f[3].equals(ESTABLISHED) && inodes.contains(f[9]))
                        .forEach(f -> ports.add(Integer.parseInt(f[1].substring(f[1].lastIndexOf(':') + 1), 16)));
            } catch (IOException e) {
                // the process is gone: no connection
            }
        }
        return ports;
    }

    private static Set<String> socketInodes(long pid) {
        Set<String> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
            fds.forEach(fd -> {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring(8, target.length() - 1));
                    }
                } catch (IOException closedMeanwhile) {
                    // the descriptor was closed while listing
                }
            });
        } catch (IOException e) {
            // the process is gone
        }
        return inodes;
    }
}
