package io.patroxy.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.netty.channel.embedded.EmbeddedChannel;
import io.patroxy.cluster.ClusterView;
import io.patroxy.cluster.MemberView;
import io.patroxy.proxy.Session.State;

/**
 * The routing invariant under random interleavings (issue 9): random cluster snapshots (UP, DOWN,
 * going up or down, timelines, two primaries, flaky checks, no leader) mixed with random session
 * events (connects done or failed, the server's first message, 'N' or 'S', a FATAL, client bytes,
 * closes, the end of the shutdown grace) and an operator's word (a member set ready, drain or maint;
 * shutdown-sessions of a member), one event-loop turn at a time. After every step: no session began relaying on a member
 * that is not the leader; after every turn of the loops: the whole invariant of {@code DropPolicy}.
 * Run with {@code -Dpatroxy.invariant.runs=100000} for a long soak; the seed of a failure is printed.
 */
class RoutingInvariantTest {

    private static final int RUNS = Integer.getInteger("patroxy.invariant.runs", 3000);
    private static final int STEPS = 60;
    private static final Set<State> ROUTED = EnumSet.of(State.CONNECTING, State.NEGOTIATING, State.SERVER_TLS, State.AWAITING_SERVER);
    private static final byte[] GSSENC = java.nio.ByteBuffer.allocate(8).putInt(8).putInt(80877104).array();
    private static final String[] MEMBERS = {"n0", "n1", "n2"};

    @Test
    void theInvariantHoldsAfterEveryTurnOfEveryInterleaving() {
        runs(false);
    }

    /** A balanced listener (replicas): no session handshakes with or relays on a member that is not UP. */
    @Test
    void aBalancedListenersInvariantHoldsToo() {
        runs(true);
    }

    private static void runs(boolean balanced) {
        long base = Long.getLong("patroxy.invariant.seed", System.nanoTime());
        for (int run = 0; run < (balanced ? RUNS / 3 : RUNS); run++) {
            long seed = base + run;
            try {
                play(new Random(seed), balanced);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("seed " + seed + " (rerun with -Dpatroxy.invariant.seed=" + seed
                        + " -Dpatroxy.invariant.runs=1): " + e.getMessage(), e);
            }
        }
    }

    private static void play(Random rnd, boolean balanced) {
        // a short hold in some runs: its end meets leaders arriving, SSLRequests held (issue 13), in every order
        EmbeddedFrontEnd fe = new EmbeddedFrontEnd(rnd.nextBoolean() ? Duration.ofMinutes(5) : Duration.ofMillis(900 + rnd.nextInt(1200)),
                balanced);
        List<String> trace = new ArrayList<>();
        try {
            for (int step = 0; step < STEPS; step++) {
                List<State> before = states(fe);
                String what;
                try {
                    what = step(fe, rnd);
                } catch (RuntimeException e) {
                    throw new AssertionError(e + "; trace " + trace + "; pipelines " + fe.clients.stream()
                            .map(c -> c.pipeline().names() + " " + (fe.session(c) == null ? null : fe.session(c).state())).toList(), e);
                }
                trace.add(what);
                assertNoRelayBeganOffTheLeader(fe, before, trace);
                if (what.startsWith("turn")) {
                    assertInvariant(fe, trace);
                }
            }
            fe.runAll();
            assertInvariant(fe, trace);
        } finally {
            fe.closeAll();
        }
        fe.assertNothingLeaked();
        for (Session s : fe.finished.values()) {
            assertThat(s.state()).isEqualTo(State.CLOSED);
        }
    }

    private static String step(EmbeddedFrontEnd fe, Random rnd) {
        int r = rnd.nextInt(100);
        String m = MEMBERS[rnd.nextInt(MEMBERS.length)];
        if (r < 4) {
            io.patroxy.cluster.AdminState a = io.patroxy.cluster.AdminState.values()[rnd.nextInt(3)];
            fe.cluster.setAdmin(m, a);
            return "admin " + m + " " + a + " -> " + describe(fe.cluster.view());
        }
        if (r == 4) {
            fe.sessions.shutdownSessions(m);
            return "shutdown-sessions " + m;
        }
        if (r < 25) {
            switch (rnd.nextInt(4)) {
                case 0 -> fe.primary(m, 1 + rnd.nextInt(3));
                case 1 -> fe.replica(m);
                default -> fe.timeout(m);
            }
            return "check " + m + " -> " + describe(fe.cluster.view());
        }
        if (r < 35) {
            EmbeddedChannel c = fe.client();
            int kind = rnd.nextInt(8);
            fe.inbound(c, kind < 2 ? Pg.sslRequest() : kind == 2 ? GSSENC : Pg.STARTUP);
            return kind < 2 ? "client ssl" : kind == 2 ? "client gssenc" : "client";
        }
        if (r < 50 && !fe.connects.isEmpty()) {
            EmbeddedFrontEnd.Connect c = fe.connects.get(rnd.nextInt(fe.connects.size()));
            if (c.promise().isDone()) {
                return "noop";
            }
            if (rnd.nextInt(5) == 0) {
                c.promise().setFailure(new java.net.ConnectException("refused"));
                c.server().close();
                return "connect failed " + c.member().name();
            }
            c.promise().setSuccess();
            return "connected " + c.member().name();
        }
        if (r < 65 && !fe.connects.isEmpty()) {
            EmbeddedFrontEnd.Connect c = fe.connects.get(rnd.nextInt(fe.connects.size()));
            if (!c.promise().isSuccess() || !c.server().isActive()) {
                return "noop";
            }
            c.server().releaseOutbound();
            switch (rnd.nextInt(6)) {
                case 0 -> fe.inbound(c.server(), new byte[] {'N'});
                case 1 -> fe.inbound(c.server(), new byte[] {'S', 1, 2, 3});
                case 2 -> fe.inbound(c.server(), Pg.errorResponse("57P03", "the database system is starting up"));
                case 3 -> fe.inbound(c.server(), new byte[] {'D', 0, 0, 0, 20, 1}); // part of a message
                default -> fe.inbound(c.server(), Pg.AUTH_OK_READY);
            }
            return "server spoke " + c.member().name();
        }
        if (r < 70 && !fe.connects.isEmpty()) {
            EmbeddedFrontEnd.Connect c = fe.connects.get(rnd.nextInt(fe.connects.size()));
            c.server().close();
            return "server closed " + c.member().name();
        }
        if (r < 78 && !fe.clients.isEmpty()) {
            EmbeddedChannel c = fe.clients.get(rnd.nextInt(fe.clients.size()));
            Session cs = fe.session(c);
            if (!c.isActive() || (cs != null && cs.state() == State.CLOSED && c.pipeline().get("tls") != null)) {
                return "noop"; // a closed session whose TLS close waits on the handshake (see the issue 13 report)
            }
            int kind = rnd.nextInt(5);
            if (kind < 2) {
                fe.inbound(c, Pg.STARTUP);
            } else if (kind == 2) {
                fe.inbound(c, Pg.sslRequest()); // after a GSSENC 'N', or a second one
            } else {
                fe.inbound(c, Pg.query("SELECT 1"));
            }
            c.releaseOutbound();
            return "client spoke";
        }
        if (r < 80 && !fe.clients.isEmpty()) {
            fe.clients.get(rnd.nextInt(fe.clients.size())).close();
            return "client closed";
        }
        if (r == 80 && rnd.nextInt(4) == 0) {
            fe.sessions.shutdownAll(); // the end of the shutdown grace, at any moment
            return "shutdown";
        }
        if (r < 90) {
            fe.runAll();
            return "turn";
        }
        fe.advance(Duration.ofMillis(300 + rnd.nextInt(300)));
        return "turn +300ms";
    }

    private static List<State> states(EmbeddedFrontEnd fe) {
        List<State> states = new ArrayList<>();
        for (EmbeddedChannel c : fe.clients) {
            Session s = fe.session(c);
            states.add(s == null ? null : s.state());
        }
        return states;
    }

    /** After any step, even with drops still queued: a session that entered RELAYING did so on the leader. */
    private static void assertNoRelayBeganOffTheLeader(EmbeddedFrontEnd fe, List<State> before, List<String> trace) {
        // the leader new sessions may go to: not one Patroni just said no for (going down)
        String leader = fe.cluster.view().routableLeader().map(MemberView::name).orElse(null);
        for (int i = 0; i < before.size(); i++) {
            Session s = fe.session(fe.clients.get(i));
            if (s != null && s.state() == State.RELAYING && before.get(i) != State.RELAYING) {
                assertThat(s.member()).as("relaying without a member; trace %s", trace).isNotNull();
                if (fe.balanced) {
                    assertThat(takesNew(fe, s.member().name())).as("began relaying on a member not UP or not READY; trace %s", trace).isTrue();
                } else {
                    assertThat(s.member().name()).as("began relaying off the leader; trace %s", trace).isEqualTo(leader);
                }
            }
        }
    }

    private static boolean isUp(EmbeddedFrontEnd fe, String member) {
        return fe.cluster.view().member(member).map(MemberView::isUp).orElse(false);
    }

    /** UP by its checks and READY by the operator. */
    private static boolean takesNew(EmbeddedFrontEnd fe, String member) {
        return fe.cluster.view().member(member).map(MemberView::takesNewSessions).orElse(false);
    }

    /** After a turn of every loop: the routing invariant of DropPolicy, whole. */
    private static void assertInvariant(EmbeddedFrontEnd fe, List<String> trace) {
        ClusterView view = fe.cluster.view();
        String leader = view.routableLeader().map(MemberView::name).orElse(null); // no handshake with a leader going down
        String elected = view.elected().map(MemberView::name).orElse(null); // the leader, or the one withheld in DRAIN/MAINT
        for (Session s : fe.sessions.open()) {
            State st = s.state();
            String member = s.member() == null ? null : s.member().name();
            boolean handshaking = ROUTED.contains(st) || (st == State.AWAITING_STARTUP && member != null);
            if (handshaking && fe.balanced) {
                assertThat(takesNew(fe, member)).as("%s %s on a member not UP or not READY; trace %s", s, st, trace).isTrue();
            } else if (handshaking) {
                assertThat(member).as("%s %s while the leader is %s; trace %s", s, st, leader, trace).isEqualTo(leader);
            }
            if (st == State.RELAYING) {
                boolean up = view.member(member).map(MemberView::isUp).orElse(false);
                assertThat(up).as("%s relays on a member that is not UP; trace %s", s, trace).isTrue();
                boolean maint = view.member(member).map(MemberView::inMaint).orElse(false);
                assertThat(maint).as("%s relays on a member in MAINT; trace %s", s, trace).isFalse();
                if (elected != null) {
                    assertThat(member).as("%s relays off the elected leader %s; trace %s", s, elected, trace).isEqualTo(elected);
                }
            }
        }
    }

    private static String describe(ClusterView v) {
        return v.leaderName().orElse(v.splitBrain() ? "SPLIT" : "NONE") + " " + v.describeMembers();
    }
}
