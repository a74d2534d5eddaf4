package io.patroxy.cluster;

import java.time.Duration;
import java.time.Instant;

import io.patroxy.config.MemberAddress;
import io.patroxy.health.CheckOutcome;
import io.patroxy.health.CheckStatus;
import io.patroxy.health.MemberHealth;
import io.patroxy.health.PatroniStatus;

/**
 * One member in a {@link ClusterView}: immutable.
 *
 * @param lastCheck         null until the first check ended
 * @param checkFailures     failed checks so far (HAProxy's {@code chkfail})
 * @param downTransitions   UP → DOWN transitions so far (HAProxy's {@code chkdown})
 * @param lastChange        when the member last went UP or DOWN (or was first seen)
 * @param downtimeBefore    DOWN time accumulated before {@code lastChange}
 * @param lastKnown         what the latest check that reported a Patroni status said: it survives
 *                          failed checks, which report none ({@link PatroniStatus#UNKNOWN} until one did)
 * @param admin             what the operator said ({@link AdminState#READY} unless told otherwise); in
 *                          MAINT the health is the one the member had when its checks were paused
 */
public record MemberView(MemberAddress address, MemberHealth health, CheckOutcome lastCheck,
        long checkFailures, long downTransitions, Instant lastChange, Duration downtimeBefore,
        PatroniStatus lastKnown, AdminState admin) {

    /** A member not checked yet. */
    static MemberView unchecked(MemberAddress address, MemberHealth initial, Instant at) {
        return new MemberView(address, initial, null, 0, 0, at, Duration.ZERO, PatroniStatus.UNKNOWN, AdminState.READY);
    }

    /** Whether new sessions may go to it: UP by its checks and READY by the operator. */
    public boolean takesNewSessions() {
        return isUp() && admin.takesNewSessions();
    }

    public boolean inMaint() {
        return admin == AdminState.MAINT;
    }

    /**
     * The status as HAProxy's stats page shows it: "MAINT"; "DRAIN" or "DRAIN 2/3" for a member
     * in drain that is UP; else the check's ("UP", "UP 2/3", "DOWN 1/2", "DOWN", "NO CHECK").
     */
    public String display() {
        if (admin == AdminState.MAINT) {
            return "MAINT";
        }
        String health = this.health.display();
        if (admin == AdminState.DRAIN && isUp()) {
            return health.replace("UP", "DRAIN");
        }
        return health;
    }

    /**
     * The view after the operator's word. Leaving MAINT, a checked member restarts DOWN: it must
     * pass {@code rise} checks before it is routable again (HAProxy instead starts it at
     * {@code rise}, UP at once, and checks it at once; Patroxy does not route on a state from
     * before the pause).
     */
    MemberView withAdmin(AdminState next, Instant at) {
        if (admin == AdminState.MAINT && next != AdminState.MAINT && health.checked()) {
            MemberHealth down = new MemberHealth(0, health.fall(), health.rise(), true);
            boolean wasUp = health.isUp();
            return new MemberView(address, down, lastCheck, checkFailures, downTransitions + (wasUp ? 1 : 0),
                    wasUp ? at : lastChange, downtimeBefore, lastKnown, next);
        }
        return new MemberView(address, health, lastCheck, checkFailures, downTransitions, lastChange, downtimeBefore,
                lastKnown, next);
    }

    public String name() {
        return address.name();
    }

    public boolean isUp() {
        return health.isUp();
    }

    public boolean lastCheckPassed() {
        return lastCheck != null && lastCheck.passed();
    }

    /**
     * Whether Patroni itself answered the latest check, and the answer was no (L7STS: a wrong status,
     * e.g. 503 from {@code /primary} on a member that is demoting). A timeout, a refused connection or
     * an unreadable answer says nothing about the member's role; this does.
     */
    public boolean answeredNo() {
        return lastCheck != null && lastCheck.status() == CheckStatus.L7STS;
    }

    public PatroniStatus patroni() {
        return lastCheck == null ? PatroniStatus.UNKNOWN : lastCheck.patroni();
    }

    /** The timeline of {@link #lastKnown()}, -1 when no check ever reported one: the leader selector's first key. */
    public long lastKnownTimeline() {
        return lastKnown.timeline();
    }

    /** "postgresql1 DOWN (L7STS 503, replica)" */
    public String describe() {
        String role = patroni().role();
        return name() + " " + display() + " (" + lastCheckSummary() + ("unknown".equals(role) ? "" : ", " + role) + ")";
    }

    /** "L7STS 503", "L4CON connection refused", "not checked yet". */
    public String lastCheckSummary() {
        if (lastCheck == null) {
            return "not checked yet";
        }
        return lastCheck.status().name() + " " + (lastCheck.httpCode() >= 0 ? String.valueOf(lastCheck.httpCode()) : lastCheck.detail());
    }

    /** Total DOWN time (HAProxy's {@code downtime}), up to {@code now}. */
    public Duration downtime(Instant now) {
        if (health.checked() && !health.isUp()) {
            return downtimeBefore.plus(Duration.between(lastChange, now));
        }
        return downtimeBefore;
    }

    /** The view after one more check result. */
    MemberView next(CheckOutcome outcome) {
        MemberHealth after = health.next(outcome.passed());
        boolean changed = !health.checked() || after.isUp() != health.isUp();
        Instant at = outcome.finishedAt();
        Duration downtime = downtimeBefore;
        if (changed && health.checked() && !health.isUp()) {
            downtime = downtime.plus(Duration.between(lastChange, at));
        }
        return new MemberView(address, after, outcome,
                checkFailures + (outcome.passed() ? 0 : 1),
                downTransitions + (health.isUp() && !after.isUp() ? 1 : 0),
                changed ? at : lastChange, downtime,
                outcome.patroni().timeline() >= 0 ? outcome.patroni() : lastKnown, admin);
    }
}
