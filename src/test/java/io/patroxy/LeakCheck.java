package io.patroxy;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;

/**
 * Netty's leak detection at PARANOID in every test run (test configuration only, never shipped),
 * and a leak fails the test class it was found after: installed before any buffer class loads
 * (a launcher session listener), checked after each class (an auto-detected extension).
 */
public final class LeakCheck implements LauncherSessionListener, AfterAllCallback {

    private static final List<String> LEAKS = new CopyOnWriteArrayList<>();

    @Override
    public void launcherSessionOpened(LauncherSession session) {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
            @Override
            @SuppressWarnings("deprecation")
            public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval, long maxActive) {
                return new ResourceLeakDetector<>(resource, samplingInterval, maxActive) {
                    @Override
                    protected void reportTracedLeak(String type, String records) {
                        LEAKS.add(type + records);
                        super.reportTracedLeak(type, records);
                    }

                    @Override
                    protected void reportUntracedLeak(String type) {
                        LEAKS.add(type);
                        super.reportUntracedLeak(type);
                    }
                };
            }
        });
    }

    @Override
    public void afterAll(ExtensionContext context) {
        for (int i = 0; i < 3; i++) {
            System.gc();
            ByteBuf probe = PooledByteBufAllocator.DEFAULT.buffer(1); // leaks are reported on the next tracked allocation
            probe.release();
        }
        if (!LEAKS.isEmpty()) {
            List<String> found = List.copyOf(LEAKS);
            LEAKS.clear();
            throw new AssertionError("Netty buffer leak(s) found after " + context.getDisplayName() + ": " + found);
        }
    }
}
