package dev.ferry.simulator;

import java.util.Arrays;

/**
 * Prints what the simulated VM achieves on this host: page writes per second at rate=max, and how long
 * pause() takes to park every vCPU. Not a test; run it by hand:
 * <pre>
 * ./mvnw -q -pl simulator -am test-compile
 * java --enable-native-access=ALL-UNNAMED -cp simulator/target/classes:simulator/target/test-classes:vm-api/target/classes:dirty-tracker/target/classes dev.ferry.simulator.SimulatedVmBench
 * </pre>
 */
public final class SimulatedVmBench {
    private SimulatedVmBench() {
    }

    public static void main(String[] args) throws InterruptedException {
        for (String spec : new String[] {"dirty:rate=max,pattern=uniform", "dirty:rate=max,pattern=hotspot:10%",
                "dirty:rate=max,pattern=sequential"}) {
            for (int vcpus : new int[] {1, 2}) {
                try (SimulatedVm vm = new SimulatedVm(256L << 20, vcpus, WorkloadSpec.parse(spec))) {
                    vm.dirtyTracker().start();
                    vm.resume();
                    Thread.sleep(300);
                    long before = vm.counters().get("pages_written");
                    long start = System.nanoTime();
                    Thread.sleep(1000);
                    long pages = vm.counters().get("pages_written") - before;
                    double seconds = (System.nanoTime() - start) / 1e9;
                    System.out.printf("%-36s vcpus=%d  %6.2f M page writes/s (%.0f MiB/s of pages)%n",
                            spec, vcpus, pages / seconds / 1e6, pages / seconds * 4096 / (1 << 20));
                }
            }
        }
        try (SimulatedVm vm = new SimulatedVm(64L << 20, 2, WorkloadSpec.parse("dirty:rate=max"))) {
            vm.resume();
            Thread.sleep(200);
            long[] pauses = new long[200];
            for (int i = 0; i < pauses.length; i++) {
                long start = System.nanoTime();
                vm.pause();
                pauses[i] = System.nanoTime() - start;
                vm.resume();
                Thread.sleep(2);
            }
            Arrays.sort(pauses);
            System.out.printf("pause() with 2 vCPUs at rate=max: p50 %d us, p99 %d us, max %d us%n",
                    pauses[100] / 1000, pauses[197] / 1000, pauses[199] / 1000);
        }
    }
}
