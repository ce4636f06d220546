package dev.ferry.simulator;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The pause handshake between the VM and its vCPU threads. The VM closes the gate and waits until every
 * live vCPU thread has parked at it; a vCPU checks {@link #haltRequested()} between batches of writes and
 * parks after its last write, so once {@link #close()} returns no write is in flight, and the lock orders
 * every write before whatever the pauser does next.
 */
final class VcpuGate {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** Read on the vCPUs' hot path; true whenever the gate is closed or the VM stops. */
    private volatile boolean halt = true;
    /** When the gate last opened: guest time restarts then, not when each thread gets a CPU again. */
    private volatile long openedNanos;
    private boolean open;
    private boolean stopping;
    private int live;
    private int parked;

    boolean haltRequested() {
        return halt;
    }

    long openedNanos() {
        return openedNanos;
    }

    /** vCPU side: waits while the gate is closed; false when the VM stops and the thread must end. */
    boolean park() {
        lock.lock();
        try {
            parked++;
            changed.signalAll();
            while (!open && !stopping) {
                changed.awaitUninterruptibly();
            }
            parked--;
            return !stopping;
        } finally {
            lock.unlock();
        }
    }

    /** vCPU side: sleeps until {@code deadlineNanos} ({@link System#nanoTime()}) or until a halt is requested. */
    void sleepUntil(long deadlineNanos) {
        lock.lock();
        try {
            long left;
            while (!halt && (left = deadlineNanos - System.nanoTime()) > 0) {
                changed.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    /** A vCPU thread begins; call before starting it. */
    void enter() {
        lock.lock();
        try {
            live++;
        } finally {
            lock.unlock();
        }
    }

    /** A vCPU thread ends, normally or not. */
    void exit() {
        lock.lock();
        try {
            live--;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void open() {
        lock.lock();
        try {
            if (!stopping) {
                openedNanos = System.nanoTime();
                open = true;
                halt = false;
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Returns once every live vCPU thread is parked. */
    void close() {
        lock.lock();
        try {
            open = false;
            halt = true;
            changed.signalAll();
            while (parked < live) {
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Tells every vCPU thread to end; join them afterwards. */
    void stop() {
        lock.lock();
        try {
            stopping = true;
            open = false;
            halt = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Waits up to {@code timeoutNanos} for every vCPU thread to end; true if they did. */
    boolean awaitExit(long timeoutNanos) {
        lock.lock();
        try {
            long left = timeoutNanos;
            while (live > 0 && left > 0) {
                left = changed.awaitNanos(left);
            }
            return live == 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return live == 0;
        } finally {
            lock.unlock();
        }
    }
}
