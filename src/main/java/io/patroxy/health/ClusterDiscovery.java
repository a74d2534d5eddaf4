package io.patroxy.health;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;

import org.jboss.logging.Logger;

import io.patroxy.config.MemberAddress;

/**
 * Learns the members from Patroni ({@code patroxy.discovery=cluster}): every {@code interval} it
 * reads {@code /cluster} from every member it knows, and reports the member list when it changed
 * ({@link DiscoveredMembers} decides). One round at a time; a member that does not answer simply
 * adds nothing to the round.
 */
public final class ClusterDiscovery {

    private static final Logger LOG = Logger.getLogger(ClusterDiscovery.class);

    private final DiscoveredMembers members;
    private final Function<MemberAddress, CompletionStage<String>> fetch;
    private final Scheduler scheduler;
    private final Duration interval;
    private final Consumer<List<MemberAddress>> changed;
    private volatile boolean stopped;
    private volatile Scheduler.Cancellable next;

    public ClusterDiscovery(DiscoveredMembers members, Function<MemberAddress, CompletionStage<String>> fetch,
            Scheduler scheduler, Duration interval, Consumer<List<MemberAddress>> changed) {
        this.members = members;
        this.fetch = fetch;
        this.scheduler = scheduler;
        this.interval = interval;
        this.changed = changed;
    }

    public void start() {
        next = scheduler.schedule(Duration.ZERO, this::round);
    }

    public void stop() {
        stopped = true;
        Scheduler.Cancellable n = next;
        if (n != null) {
            n.cancel();
        }
    }

    private void round() {
        if (stopped) {
            return;
        }
        List<MemberAddress> known = members.members();
        List<CompletableFuture<List<MemberAddress>>> answers = new ArrayList<>();
        for (MemberAddress m : known) {
            CompletableFuture<List<MemberAddress>> answer;
            try {
                answer = fetch.apply(m).toCompletableFuture().thenApply(DiscoveredMembers::parseCluster);
            } catch (RuntimeException e) {
                answer = CompletableFuture.failedFuture(e);
            }
            answers.add(answer.exceptionally(e -> {
                LOG.debugf("/cluster of %s: %s", m.name(), e.getMessage());
                return null;
            }));
        }
        CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
            if (stopped) {
                return;
            }
            try {
                List<List<MemberAddress>> got = answers.stream().map(CompletableFuture::join).filter(a -> a != null).toList();
                List<MemberAddress> before = members.members();
                if (members.record(got, Instant.now())) {
                    List<MemberAddress> now = members.members();
                    now.stream().filter(m -> !before.contains(m)).forEach(m -> LOG.infof("discovery: member %s joined (%s:%d, REST API :%d)",
                            m.name(), m.host(), m.pgPort(), m.apiPort()));
                    before.stream().filter(m -> !now.contains(m)).forEach(m -> LOG.warnf("discovery: member %s left Patroni's /cluster", m.name()));
                    changed.accept(now);
                }
            } catch (RuntimeException ex) {
                LOG.errorf(ex, "discovery round failed");
            } finally {
                next = scheduler.schedule(interval, this::round);
            }
        });
    }
}
