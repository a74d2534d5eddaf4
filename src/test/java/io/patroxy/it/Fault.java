package io.patroxy.it;

import java.time.Duration;

/**
 * The faults of the fault loop, each as it is done to the leader of the moment ({@link FaultCycle#old})
 * through {@code patroni/local-cluster.sh}: {@link #inject}, then {@link #settle} (what must happen
 * while the fault lasts), then {@link #undo} (always run). The cycle then waits until the cluster is
 * healthy and every client writes again.
 */
enum Fault {

    KILL("SIGKILL of the leader's Patroni and PostgreSQL") {
        @Override
        void inject(FaultCycle c) {
            c.cluster.kill(c.old);
        }

        @Override
        void settle(FaultCycle c) {
            c.awaitWritesOnAnotherLeader();
        }

        @Override
        void undo(FaultCycle c) {
            c.rejoin(() -> c.cluster.start(c.old));
        }
    },

    FREEZE("SIGSTOP of the leader (hung); SIGCONT once Patroxy dropped it and writes go on elsewhere") {
        @Override
        void inject(FaultCycle c) {
            c.cluster.freeze(c.old);
        }

        @Override
        void settle(FaultCycle c) {
            c.awaitWritesOnAnotherLeader();
            c.awaitPatroxyDropped();
        }

        @Override
        void undo(FaultCycle c) {
            c.rejoin(() -> c.cluster.thaw(c.old));
        }
    },

    STOP("clean stop of the leader") {
        @Override
        void inject(FaultCycle c) {
            c.cluster.stop(c.old);
        }

        @Override
        void settle(FaultCycle c) {
            c.awaitWritesOnAnotherLeader();
        }

        @Override
        void undo(FaultCycle c) {
            c.rejoin(() -> c.cluster.start(c.old));
        }
    },

    PATRONI_CRASH("SIGKILL of the leader's Patroni alone, its PostgreSQL left running as a primary") {
        @Override
        void inject(FaultCycle c) {
            c.cluster.killPatroni(c.old);
        }

        @Override
        void settle(FaultCycle c) {
            c.awaitWritesOnAnotherLeader();
            c.awaitPatroxyDropped();
        }

        @Override
        void undo(FaultCycle c) {
            c.rejoin(() -> c.cluster.startPatroni(c.old)); // it adopts its PostgreSQL and demotes it
        }
    },

    ZOOKEEPER_STOP("ZooKeeper stopped for ttl + 5 s (the leader demotes itself; either member may lead after)") {
        @Override
        void inject(FaultCycle c) {
            c.cluster.stopZookeeper();
        }

        @Override
        void settle(FaultCycle c) {
            c.awaitPatroxyDropped(); // the leader cannot keep its key: it demotes, /primary 503
            c.holdUntil(c.faultAt + LocalCluster.TTL.plusSeconds(5).toNanos()); // the fault's length, not a wait on a condition
        }

        @Override
        void undo(FaultCycle c) {
            c.cluster.startZookeeper();
        }
    },

    PARTITION("packets from Patroxy to the leader's PostgreSQL and REST API dropped (nftables) for fall x (timeout + interval) + 2 s") {
        @Override
        void inject(FaultCycle c) {
            c.cluster.block(c.old, FaultCycle.PATROXY_GID);
        }

        @Override
        void settle(FaultCycle c) {
            c.awaitPatroxyDropped();
            c.holdUntil(c.faultAt + FaultCycle.SESSION_BOUND.plus(Duration.ofSeconds(2)).toNanos());
        }

        @Override
        void undo(FaultCycle c) {
            c.cluster.unblock();
        }
    },

    SWITCHOVER("planned switchover (patronictl switchover)") {
        @Override
        void inject(FaultCycle c) {
            c.cluster.switchover();
        }

        @Override
        void settle(FaultCycle c) {
            c.awaitWritesOnAnotherLeader();
        }

        @Override
        void undo(FaultCycle c) {
            // nothing to undo: the old leader is a replica of the new one
        }
    };

    final String description;

    Fault(String description) {
        this.description = description;
    }

    abstract void inject(FaultCycle c);

    abstract void settle(FaultCycle c);

    abstract void undo(FaultCycle c);
}
