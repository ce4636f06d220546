package dev.ferry.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Every process the benchmark starts (VMMs, QEMUs, ferry commands), so that none outlives it: each run stops
 * its own in a finally block, and a shutdown hook kills what is left when the benchmark is interrupted.
 */
final class ChildProcesses implements AutoCloseable {
    private final Set<Process> live = ConcurrentHashMap.newKeySet();
    private final Thread hook = new Thread(this::killAll, "bench-child-reaper");

    ChildProcesses() {
        Runtime.getRuntime().addShutdownHook(hook);
    }

    Process start(ProcessBuilder builder) throws IOException {
        Process process = builder.start();
        live.add(process);
        return process;
    }

    /** Waits up to {@code grace} for the process to end by itself, then terminates it, then kills it. */
    void stop(Process process, Duration grace) {
        try {
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroy();
                if (!process.waitFor(3, TimeUnit.SECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            live.remove(process);
        }
    }

    private void killAll() {
        for (Process process : live) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        live.clear();
    }

    @Override
    public void close() {
        killAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
    }
}
