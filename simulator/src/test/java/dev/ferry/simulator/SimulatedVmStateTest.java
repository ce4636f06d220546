package dev.ferry.simulator;

import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class SimulatedVmStateTest {
    /** A version 1 state as written when the format was introduced: it must load for as long as version 1 does. */
    private static final String VERSION_1 = "464552525953494d00000001000000020000000000000100002c64697274793a726174653d"
            + "3235364d2c7061747465726e3d686f7473706f743a3130252c7773733d3531324b00000000000000031234567890abcdef000000"
            + "00000005dc0000000000018000000000000000100000000000000000020000000000000064000000000000004d00000000000005"
            + "db0000000000017ed0000000000000000000000000000000003f001247";

    @Test
    void versionOneStateStillLoads() {
        byte[] bytes = HexFormat.of().parseHex(VERSION_1);
        SimulatedVmState state = SimulatedVmState.decode(bytes);
        assertEquals(WorkloadSpec.parse("dirty:rate=256M,pattern=hotspot:10%,wss=512K"), state.workload());
        assertEquals(256, state.ramPages());
        assertEquals(List.of(new VcpuPosition(3, 0x1234567890abcdefL, 1500, 98304, 4096, 2),
                new VcpuPosition(100, 77, 1499, 98000, 0, 0)), state.vcpus());
        assertArrayEquals(bytes, state.encode(), "version 1 encodes as it always did");
    }
}
