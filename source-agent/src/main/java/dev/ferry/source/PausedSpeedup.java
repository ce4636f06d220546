package dev.ferry.source;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * How much faster the paused final phase may send than the live rounds did. A guest whose vCPUs stay busy on a
 * host with no idle CPU takes those cores from the migration, and gives them back once it is paused: the final
 * phase's bandwidth is then the live one times {@code busy / (busy - vcpus)}, where {@code busy} is the cores in
 * use and {@code vcpus} the cores the vCPU threads used. Both are measured over the last live rounds: the vCPUs'
 * CPU time from the VM, the host's idle time from {@code /proc/stat}.
 *
 * <p>The factor is 1 when the host had CPU to spare (more than {@value #SPARE_CORES} of a core idle): then
 * something else held the rounds back (the link, a cap) and a paused guest frees nothing they lacked. It is 1
 * too when the destination runs on another host and the sender spent more than a tenth of the rounds waiting
 * for flow-control window: the link or that host was the limit, and this host's cores do not speed either up.
 * A destination on this host shares its cores, so there the wait is the same shortage. Also 1 when the VM
 * cannot tell its vCPUs' CPU time or the host its idle time. It is at most {@value #MAX}, so a measurement gone
 * wrong cannot promise much.
 */
final class PausedSpeedup {
    static final double MAX = 2.0;
    static final double SPARE_CORES = 0.25;
    /** /proc/stat counts in ticks of 10 ms: measure over at least this long, across rounds if they are shorter. */
    static final long MIN_WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    /** A remote destination's rounds that waited longer than this share for window were limited elsewhere. */
    static final double REMOTE_WAIT_SHARE = 0.1;
    private static final Path PROC_STAT = Path.of("/proc/stat");
    private static final long NANOS_PER_TICK = TimeUnit.SECONDS.toNanos(1) / 100;

    private record Reading(long wallNanos, long idleNanos, long vcpuNanos, long windowWaitNanos) {
    }

    private final LongSupplier vcpuCpuNanos;
    private final LongSupplier windowWaitNanos;
    private final boolean destinationOnThisHost;
    private final HostIdle host;
    private final Deque<Reading> starts = new ArrayDeque<>();
    private double factor = 1;

    /** The host's CPU count and their idle time so far, in nanoseconds (-1 when unknown). */
    interface HostIdle {
        int cores();

        long idleNanos();
    }

    /**
     * @param vcpuCpuNanos the VM's {@code vcpuCpuNanos()}
     * @param windowWaitNanos how long the sender has waited for flow-control window so far
     * @param destination the destination's {@code host:port}
     */
    PausedSpeedup(LongSupplier vcpuCpuNanos, LongSupplier windowWaitNanos, String destination) {
        this(vcpuCpuNanos, windowWaitNanos, onThisHost(destination), ProcStat.read());
    }

    PausedSpeedup(LongSupplier vcpuCpuNanos, LongSupplier windowWaitNanos, boolean destinationOnThisHost,
                  HostIdle host) {
        this.vcpuCpuNanos = vcpuCpuNanos;
        this.windowWaitNanos = windowWaitNanos;
        this.destinationOnThisHost = destinationOnThisHost;
        this.host = host;
    }

    /** A live round begins. */
    void roundStarts() {
        Reading now = read();
        if (now != null) {
            starts.addLast(now);
        }
    }

    /** A live round ended: measures the factor over it, or over the last rounds if it was short. */
    void roundEnds() {
        Reading now = read();
        if (now == null || starts.isEmpty()) {
            factor = 1;
            return;
        }
        // The newest start at least a window back; older ones are not needed again.
        while (starts.size() > 1 && now.wallNanos - secondOldest().wallNanos >= MIN_WINDOW_NANOS) {
            starts.removeFirst();
        }
        Reading from = starts.getFirst();
        double wall = now.wallNanos - from.wallNanos;
        boolean limitedElsewhere = !destinationOnThisHost
                && now.windowWaitNanos - from.windowWaitNanos > REMOTE_WAIT_SHARE * wall;
        factor = wall <= 0 || limitedElsewhere ? 1
                : of(host.cores(), (now.idleNanos - from.idleNanos) / wall, (now.vcpuNanos - from.vcpuNanos) / wall);
    }

    /** The factor the last measured rounds give; 1 before any. */
    double factor() {
        return factor;
    }

    /** {@code cores} on the host, of which {@code idleCores} were idle and {@code vcpuCores} ran vCPUs. */
    static double of(int cores, double idleCores, double vcpuCores) {
        if (cores <= 0 || idleCores < 0 || idleCores > SPARE_CORES || vcpuCores <= 0) {
            return 1;
        }
        double busy = cores - idleCores;
        double rest = busy - vcpuCores;
        return rest * MAX <= busy ? MAX : busy / rest;
    }

    private Reading secondOldest() {
        var it = starts.iterator();
        it.next();
        return it.next();
    }

    private Reading read() {
        long vcpu = vcpuCpuNanos.getAsLong();
        long idle = host.idleNanos();
        return vcpu < 0 || idle < 0 ? null : new Reading(System.nanoTime(), idle, vcpu, windowWaitNanos.getAsLong());
    }

    /** Whether {@code host:port} (a gRPC authority) names this host: loopback or one of its addresses. */
    static boolean onThisHost(String authority) {
        try {
            String host = authority.substring(0, authority.lastIndexOf(':'));
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            InetAddress address = InetAddress.getByName(host);
            return address.isLoopbackAddress() || address.isAnyLocalAddress()
                    || NetworkInterface.getByInetAddress(address) != null;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The host's /proc/stat: the "cpuN" lines' count and the idle and iowait columns of the "cpu" line. */
    record ProcStat(int cores) implements HostIdle {
        /** This host's; without a readable /proc/stat, 0 cores and an unknown idle time (the factor stays 1). */
        static ProcStat read() {
            try (var lines = Files.lines(PROC_STAT)) {
                return new ProcStat((int) lines.filter(l -> l.length() > 3 && l.startsWith("cpu")
                        && Character.isDigit(l.charAt(3))).count());
            } catch (IOException | RuntimeException e) {
                return new ProcStat(0);
            }
        }

        @Override
        public long idleNanos() {
            try (var lines = Files.lines(PROC_STAT)) {
                String[] fields = lines.findFirst().orElse("").trim().split("\\s+");
                if (!fields[0].equals("cpu") || fields.length < 6) {
                    return -1;
                }
                return (Long.parseLong(fields[4]) + Long.parseLong(fields[5])) * NANOS_PER_TICK;
            } catch (IOException | RuntimeException e) {
                return -1;
            }
        }
    }
}
