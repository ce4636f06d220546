package dev.ferry.vmm.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Per-thread signal masks and thread-directed signals: what the vCPU kick needs. A kick signal stays blocked
 * in its thread (so no handler ever runs inside the JVM) and is consumed with {@link #consumePending}.
 */
public final class ThreadSignals {
    /** SIGUSR1. HotSpot on Linux uses SIGUSR2 for thread suspend/resume and leaves SIGUSR1 alone. */
    public static final int SIGUSR1 = 10;

    private static final int SIG_BLOCK = 0;
    /** glibc's sigset_t: 1024 bits. The kernel reads only the first 64. */
    private static final long GLIBC_SIGSET_SIZE = 128;
    private static final long SIGINFO_SIZE = 128;
    private static final int EAGAIN = 11;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private static final MethodHandle PTHREAD_SIGMASK = bind("pthread_sigmask",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SIGTIMEDWAIT = bind("sigtimedwait",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), CAPTURE_ERRNO);
    private static final MethodHandle TGKILL = bind("tgkill",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle GETTID = bind("gettid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle GETPID = bind("getpid", FunctionDescriptor.of(JAVA_INT));

    private ThreadSignals() {
    }

    private static MethodHandle bind(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    /**
     * Blocks {@code signal} in the calling thread and returns the thread's previous mask as the kernel's
     * 64-bit sigset (bit n-1 = signal n).
     */
    public static long blockInCurrentThread(int signal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(GLIBC_SIGSET_SIZE, 8);
            MemorySegment old = arena.allocate(GLIBC_SIGSET_SIZE, 8);
            set.set(JAVA_LONG, 0, 1L << (signal - 1));
            int rc = (int) PTHREAD_SIGMASK.invokeExact(SIG_BLOCK, set, old);
            if (rc != 0) {
                throw new SyscallException("pthread_sigmask(SIG_BLOCK, " + signal + ")", rc);
            }
            return old.get(JAVA_LONG, 0);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw new LinkageError("pthread_sigmask", t);
        }
    }

    /** Takes {@code signal} off the calling thread's pending set if it is there; true when it was. */
    public static boolean consumePending(int signal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment set = arena.allocate(GLIBC_SIGSET_SIZE, 8);
            set.set(JAVA_LONG, 0, 1L << (signal - 1));
            MemorySegment info = arena.allocate(SIGINFO_SIZE, 8);
            MemorySegment zero = arena.allocate(16, 8); // struct timespec {0, 0}: poll
            int rc = (int) SIGTIMEDWAIT.invokeExact(state, set, info, zero);
            if (rc == signal) {
                return true;
            }
            int errno = (int) ERRNO.get(state, 0L);
            if (rc < 0 && errno != EAGAIN && errno != 4) {
                throw new SyscallException("sigtimedwait(" + signal + ")", errno);
            }
            return false;
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw new LinkageError("sigtimedwait", t);
        }
    }

    /** Sends {@code signal} to thread {@code tid} of this process. */
    public static void signalThread(int tid, int signal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int rc = (int) TGKILL.invokeExact(state, processId(), tid, signal);
            if (rc < 0) {
                throw new SyscallException("tgkill(" + tid + ", " + signal + ")", (int) ERRNO.get(state, 0L));
            }
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw new LinkageError("tgkill", t);
        }
    }

    /** The kernel thread id of the calling thread. */
    public static int currentThreadId() {
        try {
            return (int) GETTID.invokeExact();
        } catch (Throwable t) {
            throw new LinkageError("gettid", t);
        }
    }

    public static int processId() {
        try {
            return (int) GETPID.invokeExact();
        } catch (Throwable t) {
            throw new LinkageError("getpid", t);
        }
    }
}
