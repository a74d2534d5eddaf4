package io.patroxy.proxy;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.netty.util.concurrent.EventExecutor;
import io.patroxy.proxy.Session.State;

/**
 * A session's wait for a leader (HOLDING): in the bounded {@link HoldQueue}, woken through the
 * session's door, until {@code patroxy.hold.timeout} after the client connected; and the pause
 * between server attempts, whose number {@code patroxy.retries} bounds when there is no hold.
 */
final class LeaderWait {

    /** Pause before trying the leader again after a failed connect or handshake. */
    static final long RETRY_DELAY_MILLIS = 250;

    private final ProxyContext px;
    private final Session session;
    private final Handshake handshake;
    private final EventExecutor executor;
    private final long deadlineNanos;
    private int attempts;
    private boolean queued;
    private ScheduledFuture<?> timer;

    LeaderWait(ProxyContext px, Session session, Handshake handshake, EventExecutor executor) {
        this.px = px;
        this.session = session;
        this.handshake = handshake;
        this.executor = executor;
        this.deadlineNanos = System.nanoTime() + px.settings().holdTimeout().toNanos();
    }

    /** A server attempt begins. */
    void attempted() {
        attempts++;
    }

    int attempts() {
        return attempts;
    }

    boolean withinHold() {
        return System.nanoTime() < deadlineNanos;
    }

    /** Waits for a leader (or, with {@code retrySoon}, retries shortly) until the hold's deadline. */
    void hold(boolean retrySoon) {
        long left = deadlineNanos - System.nanoTime();
        boolean retriesLeft = retrySoon && attempts <= px.settings().retries();
        if (left <= 0 && !retriesLeft) {
            handshake.giveUp();
            return;
        }
        if (!queued) {
            if (!px.holds().offer(session)) {
                handshake.holdQueueFull();
                return;
            }
            queued = true;
            if (attempts == 0) {
                px.sessions().countHeld();
            }
        }
        session.to(State.HOLDING);
        cancelTimer();
        if (retrySoon) {
            timer = executor.schedule(handshake::onLeader, RETRY_DELAY_MILLIS, TimeUnit.MILLISECONDS);
        } else {
            timer = executor.schedule(handshake::giveUp, left, TimeUnit.NANOSECONDS);
        }
    }

    /** Out of the queue, no timer. */
    void leave() {
        if (queued) {
            px.holds().remove(session);
            queued = false;
        }
        cancelTimer();
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
