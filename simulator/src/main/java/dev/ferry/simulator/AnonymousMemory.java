package dev.ferry.simulator;

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
 * Guest RAM as a private anonymous mapping: the kernel backs a page only when it is first touched, so a
 * 4 GiB simulated VM costs what its workload writes, not 4 GiB ({@code Arena.allocate} zero-fills eagerly).
 * The mapping belongs to an arena: closing the arena unmaps it, and a late access then fails with an
 * exception instead of a crash.
 */
// Binding mmap/munmap is what this class is for; callers run with --enable-native-access.
@SuppressWarnings("restricted")
final class AnonymousMemory {
    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int MAP_NORESERVE = 0x4000;
    private static final long MAP_FAILED = -1L;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final MethodHandle MMAP = bind("mmap",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = bind("munmap", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
            LINKER.defaultLookup().find("strerror").orElseThrow(), FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private AnonymousMemory() {
    }

    /** Maps {@code bytes} of zeroed, lazily backed memory, unmapped when {@code arena} closes. */
    static MemorySegment map(long bytes, Arena arena) {
        long address;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(CALL_STATE);
            address = (long) MMAP.invokeExact(state, 0L, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
            if (address == MAP_FAILED) {
                int errno = (int) ERRNO.get(state, 0L);
                throw new IllegalStateException("mmap of " + bytes + " bytes of simulated guest RAM failed: errno "
                        + errno + " (" + strerror(errno) + ")");
            }
        } catch (IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new LinkageError("mmap", t);
        }
        long mapped = address;
        return MemorySegment.ofAddress(address).reinterpret(bytes, arena, segment -> unmap(mapped, bytes));
    }

    private static void unmap(long address, long bytes) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(CALL_STATE);
            int rc = (int) MUNMAP.invokeExact(state, address, bytes);
            if (rc < 0) {
                int errno = (int) ERRNO.get(state, 0L);
                throw new IllegalStateException("munmap of " + bytes + " bytes at 0x" + Long.toHexString(address)
                        + " failed: errno " + errno + " (" + strerror(errno) + ")");
            }
        } catch (IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new LinkageError("munmap", t);
        }
    }

    private static MethodHandle bind(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor, CAPTURE_ERRNO);
    }

    private static String strerror(int errno) {
        try {
            return ((MemorySegment) STRERROR.invokeExact(errno)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
