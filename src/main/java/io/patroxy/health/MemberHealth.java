package io.patroxy.health;

/**
 * HAProxy's fall/rise counter as a pure value: no clock, no I/O.
 *
 * <p>Like HAProxy's {@code check->health}, {@code health} runs from 0 to {@code rise + fall - 1}.
 * A member is UP while {@code health >= rise}.
 * <ul>
 *   <li>pass: health + 1; reaching {@code rise} makes the member UP and jumps to the top
 *       (one pass fully heals a member that was "going down");</li>
 *   <li>fail: while above {@code rise}, health - 1 (UP, going down); at or below it, health drops to 0
 *       (DOWN, and a member "going up" starts again from nothing).</li>
 * </ul>
 * With fall 3 / rise 2: UP → "UP 2/3" → "UP 1/3" → DOWN, and DOWN → "DOWN 1/2" → UP.
 * Before the first check a member is in {@link State#INIT}; the first result decides its state.
 */
public record MemberHealth(int health, int fall, int rise, boolean checked) {

    public enum State {
        /** Not checked yet; not routable. */
        INIT,
        UP,
        /** UP, but the latest check(s) failed. */
        UP_GOING_DOWN,
        DOWN,
        /** DOWN, but the latest check(s) passed. */
        DOWN_GOING_UP
    }

    public MemberHealth {
        if (fall < 1 || rise < 1) {
            throw new IllegalArgumentException("fall and rise must be at least 1");
        }
        if (health < 0 || health > rise + fall - 1) {
            throw new IllegalArgumentException("health " + health + " outside 0.." + (rise + fall - 1));
        }
    }

    public static MemberHealth initial(int fall, int rise) {
        return new MemberHealth(0, fall, rise, false);
    }

    private int top() {
        return rise + fall - 1;
    }

    public MemberHealth next(boolean passed) {
        if (!checked) {
            return new MemberHealth(passed ? top() : 0, fall, rise, true);
        }
        int h;
        if (passed) {
            h = health + 1 >= rise ? top() : health + 1;
        } else {
            h = health > rise ? health - 1 : 0;
        }
        return new MemberHealth(h, fall, rise, true);
    }

    /** Whether sessions may be routed to this member. */
    public boolean isUp() {
        return checked && health >= rise;
    }

    public State state() {
        if (!checked) {
            return State.INIT;
        }
        if (health >= rise) {
            return health == top() ? State.UP : State.UP_GOING_DOWN;
        }
        return health == 0 ? State.DOWN : State.DOWN_GOING_UP;
    }

    /** The status as HAProxy's stats page shows it: "UP", "UP 2/3", "DOWN", "DOWN 1/2". */
    public String display() {
        return switch (state()) {
            case INIT -> "NO CHECK";
            case UP -> "UP";
            case DOWN -> "DOWN";
            case UP_GOING_DOWN -> "UP " + (health - rise + 1) + "/" + fall;
            case DOWN_GOING_UP -> "DOWN " + health + "/" + rise;
        };
    }
}
