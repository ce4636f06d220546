package dev.ferry.vmm.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The libc calls the VMM needs, bound once through the FFM linker. Every call captures errno
 * and turns a failure into a {@link SyscallException} that names the call and the errno.
 */
public final class Libc {
    public static final int O_RDWR = 0x2;
    public static final int O_CLOEXEC = 0x80000;
    public static final int O_NONBLOCK = 0x800;

    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final long MAP_FAILED = -1L;
    /** Linux 5.14+: back a range with writable memory now, as writing it would, without a fault per page. */
    public static final int MADV_POPULATE_WRITE = 23;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private static final MethodHandle OPEN = bind("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2), CAPTURE_ERRNO);
    private static final MethodHandle CLOSE = bind("close",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle IOCTL_PTR = bind("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            Linker.Option.firstVariadicArg(2), CAPTURE_ERRNO);
    private static final MethodHandle IOCTL_LONG = bind("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(2), CAPTURE_ERRNO);
    private static final MethodHandle MMAP = bind("mmap",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG),
            CAPTURE_ERRNO);
    private static final MethodHandle MUNMAP = bind("munmap",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG), CAPTURE_ERRNO);
    private static final MethodHandle MADVISE = bind("madvise",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle STRERROR = bind("strerror",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));

    /** One errno capture buffer per thread: the vCPU run loop calls ioctl without allocating. */
    private static final ThreadLocal<MemorySegment> CALL_STATE_BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

    private Libc() {
    }

    private static MethodHandle bind(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = LIBC.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    public static int open(String path, int flags) {
        MemorySegment state = CALL_STATE_BUFFER.get();
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags, 0);
            if (fd < 0) {
                throw new SyscallException("open(" + path + ")", errno(state));
            }
            return fd;
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw new LinkageError("open", t);
        }
    }

    public static void close(int fd) {
        MemorySegment state = CALL_STATE_BUFFER.get();
        try {
            int rc = (int) CLOSE.invokeExact(state, fd);
            if (rc < 0) {
                throw new SyscallException("close(" + fd + ")", errno(state));
            }
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw new LinkageError("close", t);
        }
    }

    /** ioctl with a pointer argument; returns the non-negative result or throws naming {@code name}. */
    public static int ioctl(int fd, String name, long request, MemorySegment arg) {
        MemorySegment state = CALL_STATE_BUFFER.get();
        int rc;
        try {
            rc = (int) IOCTL_PTR.invokeExact(state, fd, request, arg);
        } catch (Throwable t) {
            throw new LinkageError(name, t);
        }
        if (rc < 0) {
            throw new SyscallException("ioctl " + name, errno(state));
        }
        return rc;
    }

    /** ioctl with an integer argument (or none: pass 0). */
    public static int ioctl(int fd, String name, long request, long arg) {
        MemorySegment state = CALL_STATE_BUFFER.get();
        int rc;
        try {
            rc = (int) IOCTL_LONG.invokeExact(state, fd, request, arg);
        } catch (Throwable t) {
            throw new LinkageError(name, t);
        }
        if (rc < 0) {
            throw new SyscallException("ioctl " + name, errno(state));
        }
        return rc;
    }

    /**
     * ioctl that reports failure as a negative errno instead of throwing, for calls where a
     * failure is an expected outcome (KVM_RUN interrupted by a kick returns EINTR).
     */
    public static int ioctlErrno(int fd, String name, long request, long arg) {
        MemorySegment state = CALL_STATE_BUFFER.get();
        int rc;
        try {
            rc = (int) IOCTL_LONG.invokeExact(state, fd, request, arg);
        } catch (Throwable t) {
            throw new LinkageError(name, t);
        }
        return rc < 0 ? -errno(state) : rc;
    }

    /** Maps {@code length} bytes; the returned segment is not bounded by any arena: call munmap. */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset) {
        MemorySegment state = CALL_STATE_BUFFER.get();
        long address;
        try {
            address = (long) MMAP.invokeExact(state, 0L, length, prot, flags, fd, offset);
        } catch (Throwable t) {
            throw new LinkageError("mmap", t);
        }
        if (address == MAP_FAILED) {
            throw new SyscallException("mmap(" + length + " bytes)", errno(state));
        }
        return MemorySegment.ofAddress(address).reinterpret(length);
    }

    /** madvise over {@code range}, which must start page-aligned. */
    public static void madvise(MemorySegment range, int advice) {
        MemorySegment state = CALL_STATE_BUFFER.get();
        int rc;
        try {
            rc = (int) MADVISE.invokeExact(state, range.address(), range.byteSize(), advice);
        } catch (Throwable t) {
            throw new LinkageError("madvise", t);
        }
        if (rc < 0) {
            throw new SyscallException("madvise(" + advice + ")", errno(state));
        }
    }

    public static void munmap(MemorySegment mapping) {
        MemorySegment state = CALL_STATE_BUFFER.get();
        int rc;
        try {
            rc = (int) MUNMAP.invokeExact(state, mapping.address(), mapping.byteSize());
        } catch (Throwable t) {
            throw new LinkageError("munmap", t);
        }
        if (rc < 0) {
            throw new SyscallException("munmap", errno(state));
        }
    }

    public static String strerror(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }
}
