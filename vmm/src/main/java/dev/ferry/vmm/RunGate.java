package dev.ferry.vmm;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Where vCPU threads wait while the VM is paused, and how the pauser learns that none is inside KVM_RUN
 * (or handling an exit) any more.
 */
final class RunGate {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private boolean paused = true;
    private boolean stopped;
    private int inGuest;

    /** Blocks while paused; false once stopped. On true the caller is counted as in the guest. */
    boolean enterGuest() {
        lock.lock();
        try {
            while (paused && !stopped) {
                changed.awaitUninterruptibly();
            }
            if (stopped) {
                return false;
            }
            inGuest++;
            return true;
        } finally {
            lock.unlock();
        }
    }

    void leaveGuest() {
        lock.lock();
        try {
            inGuest--;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    boolean pauseRequested() {
        lock.lock();
        try {
            return paused || stopped;
        } finally {
            lock.unlock();
        }
    }

    /** Closes the gate, then kicks until every vCPU is out; {@code kick} is repeated in case one was missed. */
    void pause(Runnable kick) {
        lock.lock();
        try {
            paused = true;
        } finally {
            lock.unlock();
        }
        kick.run();
        lock.lock();
        try {
            while (inGuest > 0) {
                if (!changed.await(50, TimeUnit.MILLISECONDS)) {
                    kick.run();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while pausing the vCPUs", e);
        } finally {
            lock.unlock();
        }
    }

    void open() {
        lock.lock();
        try {
            paused = false;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void stop() {
        lock.lock();
        try {
            stopped = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
