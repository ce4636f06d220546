package dev.ferry.vmm.control;

import dev.ferry.dirty.DirtyTracker;
import dev.ferry.proto.v1.DumpMemoryRequest;
import dev.ferry.proto.v1.MemoryChunk;
import dev.ferry.proto.v1.StatusRequest;
import dev.ferry.proto.v1.VmState;
import dev.ferry.proto.v1.VmStatus;
import dev.ferry.proto.v1.VmmControlGrpc;
import dev.ferry.vm.GuestRam;
import dev.ferry.vm.Heartbeats;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RamRegion;
import dev.ferry.vm.RunState;
import dev.ferry.vm.VmShape;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The control endpoint over real gRPC in front of a VM that is only RAM, laid out around the PCI hole. */
class VmmControlServiceTest {
    private static final long HIGH = 4L << 30;

    private final Arena arena = Arena.ofShared();
    private Server server;
    private ManagedChannel channel;

    @AfterEach
    void shutDown() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        arena.close();
    }

    @Test
    void aDumpAcrossTheHoleCarriesOnlyRamAndSaysWhereEachChunkIs() throws Exception {
        RamOnlyVm vm = new RamOnlyVm(arena, List.of(new RamRegion(0, 0, 3 << 19), new RamRegion(1, HIGH, 1 << 20)));
        VmmControlGrpc.VmmControlBlockingStub control = serve(vm);

        VmStatus status = control.status(StatusRequest.getDefaultInstance());
        assertEquals(VmState.VM_STATE_PAUSED, status.getState());
        assertEquals("simulated", status.getKind());
        assertEquals(7, status.getCountersOrThrow("exits"));

        List<MemoryChunk> chunks = dump(control, 1 << 20, 0);
        assertEquals(List.of(1L << 20, HIGH), chunks.stream().map(MemoryChunk::getOffset).toList());
        assertEquals(1 << 19, chunks.get(0).getData().size(), "the rest of the low region");
        assertEquals(1 << 20, chunks.get(1).getData().size());
        assertEquals((byte) 0x11, chunks.get(0).getData().byteAt(0));
        assertEquals((byte) 0x22, chunks.get(1).getData().byteAt(5));

        StatusRuntimeException hole = assertThrows(StatusRuntimeException.class, () -> dump(control, 2L << 30, 4096));
        assertEquals(Status.Code.INVALID_ARGUMENT, hole.getStatus().getCode());
        assertTrue(hole.getStatus().getDescription().contains("holds no RAM"), hole.getStatus().getDescription());
    }

    private VmmControlGrpc.VmmControlBlockingStub serve(MigratableVm vm) throws Exception {
        VmmControlService service = new VmmControlService("sim", () -> vm, System.nanoTime(), () -> { });
        server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(service).build().start();
        channel = Grpc.newChannelBuilder("localhost:" + server.getPort(), InsecureChannelCredentials.create()).build();
        return VmmControlGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    private static List<MemoryChunk> dump(VmmControlGrpc.VmmControlBlockingStub control, long offset, long length) {
        List<MemoryChunk> chunks = new ArrayList<>();
        control.dumpMemory(DumpMemoryRequest.newBuilder().setOffset(offset).setLength(length).build())
                .forEachRemaining(chunks::add);
        return chunks;
    }

    /** Just RAM (low region filled with 0x11, high with 0x22) and a paused state. */
    private static final class RamOnlyVm implements MigratableVm {
        private final List<GuestRam> ram = new ArrayList<>();
        private final VmShape shape;

        RamOnlyVm(Arena arena, List<RamRegion> regions) {
            long page = 0;
            byte fill = 0x11;
            for (RamRegion region : regions) {
                MemorySegment memory = arena.allocate(region.size(), 4096);
                memory.fill(fill);
                fill += 0x11;
                ram.add(new GuestRam(region, memory, page));
                page += region.pages();
            }
            shape = new VmShape(regions, 1, "none", "simulated");
        }

        @Override
        public VmShape shape() {
            return shape;
        }

        @Override
        public List<GuestRam> ram() {
            return ram;
        }

        @Override
        public DirtyTracker dirtyTracker() {
            throw new UnsupportedOperationException("not tracked");
        }

        @Override
        public RunState runState() {
            return RunState.PAUSED;
        }

        @Override
        public void pause() {
        }

        @Override
        public void resume() {
        }

        @Override
        public void throttle(int percent) {
        }

        @Override
        public byte[] saveState() {
            return new byte[0];
        }

        @Override
        public void loadState(byte[] state) {
        }

        @Override
        public Heartbeats heartbeats() {
            return Heartbeats.NONE;
        }

        @Override
        public Map<String, Long> counters() {
            return Map.of("exits", 7L);
        }
    }
}
