package dev.ferry.vmm.bench;

import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.VmConfig;
import dev.ferry.vmm.boot.BootSource;
import dev.ferry.vmm.boot.LongModePayload;
import dev.ferry.vmm.devices.SerialSink;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Prints the VMM's basic figures on this host: VM create to first guest instruction, I/O exits per second,
 * pause latency while the guest spins. Not a test: timings depend on the machine and its load.
 */
public final class VmmBench {
    private static final long LOAD = LongModePayload.DEFAULT_LOAD_ADDRESS;
    /** out 0xe9, al; then the i8042 reset. */
    private static final byte[] FIRST_OUT = {(byte) 0xE6, (byte) 0xE9, (byte) 0xB0, (byte) 0xFE, (byte) 0xE6, 0x64, (byte) 0xF4};
    /** loop: out 0x80, al; jmp loop */
    private static final byte[] OUT_LOOP = {(byte) 0xE6, (byte) 0x80, (byte) 0xEB, (byte) 0xFC};
    /** loop: inc qword [0x200000]; jmp loop */
    private static final byte[] SPIN = {0x48, (byte) 0xFF, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, (byte) 0xEB, (byte) 0xF6};

    private VmmBench() {
    }

    public static void main(String[] args) throws Exception {
        createToFirstInstruction(30);
        ioExitsPerSecond(2);
        pauseLatency(100);
        stateSaveAndRestore(50);
        throttledProgress();
    }

    /** saveState on a paused running VM, loadState into a fresh VM of the same shape (as a destination does). */
    private static void stateSaveAndRestore(int runs) throws Exception {
        try (KvmVm vm = KvmVm.create(VmConfig.of("bench-state", 4 << 20, 1, new LongModePayload(SPIN, LOAD, LOAD)));
             KvmVm target = KvmVm.create(VmConfig.of("bench-state-target", 4 << 20, 1, BootSource.nothing()))) {
            vm.resume();
            Thread.sleep(50);
            vm.pause();
            double[] saveUs = new double[runs];
            double[] loadUs = new double[runs];
            byte[] state = null;
            for (int i = 0; i < runs; i++) {
                long start = System.nanoTime();
                state = vm.saveState();
                saveUs[i] = (System.nanoTime() - start) / 1e3;
                start = System.nanoTime();
                target.loadState(state);
                loadUs[i] = (System.nanoTime() - start) / 1e3;
            }
            System.out.printf("state save: median %.0f us, p90 %.0f us; restore: median %.0f us, p90 %.0f us; %d bytes (%d runs, the first includes probing the MSRs)%n",
                    median(saveUs), pct(saveUs, 90), median(loadUs), pct(loadUs, 90), state.length, runs);
        }
    }

    private static void createToFirstInstruction(int runs) throws Exception {
        double[] createMs = new double[runs];
        double[] firstMs = new double[runs];
        for (int i = 0; i < runs; i++) {
            CountDownLatch first = new CountDownLatch(1);
            long[] firstAt = new long[1];
            SerialSink debug = b -> {
                firstAt[0] = System.nanoTime();
                first.countDown();
            };
            long start = System.nanoTime();
            try (KvmVm vm = KvmVm.create(VmConfig.of("bench", 64 << 20, 1, new LongModePayload(FIRST_OUT, LOAD, LOAD))
                    .withDebugConsole(debug))) {
                long created = System.nanoTime();
                vm.resume();
                if (!first.await(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the guest never wrote to port 0xE9");
                }
                createMs[i] = (created - start) / 1e6;
                firstMs[i] = (firstAt[0] - start) / 1e6;
            }
        }
        System.out.printf("create (64 MiB, 1 vCPU): median %.2f ms, p90 %.2f ms%n", median(createMs), pct(createMs, 90));
        System.out.printf("create to first instruction: median %.2f ms, p90 %.2f ms (%d runs)%n",
                median(firstMs), pct(firstMs, 90), runs);
    }

    private static void ioExitsPerSecond(int seconds) throws Exception {
        try (KvmVm vm = KvmVm.create(VmConfig.of("bench-io", 4 << 20, 1, new LongModePayload(OUT_LOOP, LOAD, LOAD)))) {
            vm.resume();
            Thread.sleep(200);
            long exits = vm.counters().get("io_exits");
            long start = System.nanoTime();
            Thread.sleep(seconds * 1000L);
            long done = vm.counters().get("io_exits") - exits;
            double elapsed = (System.nanoTime() - start) / 1e9;
            System.out.printf("I/O exits: %.0f per second (%.2f us each, round trip guest -> Java -> guest)%n",
                    done / elapsed, elapsed * 1e6 / done);
        }
    }

    private static void pauseLatency(int runs) throws Exception {
        try (KvmVm vm = KvmVm.create(VmConfig.of("bench-pause", 4 << 20, 1, new LongModePayload(SPIN, LOAD, LOAD)))) {
            MemorySegment counter = vm.memory().slice(0x200000, 8);
            double[] us = new double[runs];
            vm.resume();
            for (int i = 0; i < runs; i++) {
                long seen = counter.get(JAVA_LONG, 0);
                while (counter.get(JAVA_LONG, 0) == seen) {
                    Thread.onSpinWait();
                }
                long start = System.nanoTime();
                vm.pause();
                us[i] = (System.nanoTime() - start) / 1e3;
                vm.resume();
            }
            System.out.printf("pause latency, guest spinning in KVM_RUN: median %.0f us, p90 %.0f us, max %.0f us (%d runs)%n",
                    median(us), pct(us, 90), pct(us, 100), runs);
        }
    }

    /** Guest progress (a spinning counter) under auto-converge throttling, relative to unthrottled. */
    private static void throttledProgress() throws Exception {
        try (KvmVm vm = KvmVm.create(VmConfig.of("bench-throttle", 4 << 20, 1, new LongModePayload(SPIN, LOAD, LOAD)))) {
            MemorySegment counter = vm.memory().slice(0x200000, 8);
            vm.resume();
            Thread.sleep(200);
            double unthrottled = 0;
            for (int percent : new int[] {0, 25, 50, 75, 90}) {
                vm.throttle(percent);
                Thread.sleep(200);
                long before = counter.get(JAVA_LONG, 0);
                long start = System.nanoTime();
                Thread.sleep(1000);
                double rate = (counter.get(JAVA_LONG, 0) - before) / ((System.nanoTime() - start) / 1e9);
                if (percent == 0) {
                    unthrottled = rate;
                }
                System.out.printf("throttle %2d%%: guest progress %5.1f%% of unthrottled%n", percent, 100 * rate / unthrottled);
            }
        }
    }

    private static double median(double[] values) {
        return pct(values, 50);
    }

    private static double pct(double[] values, int percentile) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(percentile / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }
}
