package dev.ferry.vmm.control;

import dev.ferry.proto.v1.DumpMemoryRequest;
import dev.ferry.proto.v1.MemoryChunk;
import dev.ferry.proto.v1.PauseRequest;
import dev.ferry.proto.v1.QuitRequest;
import dev.ferry.proto.v1.ResumeRequest;
import dev.ferry.proto.v1.StatusRequest;
import dev.ferry.proto.v1.VmState;
import dev.ferry.proto.v1.VmStatus;
import dev.ferry.proto.v1.VmmControlGrpc;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vmm.KvmVm;
import dev.ferry.vmm.VmConfig;
import dev.ferry.vmm.boot.LongModePayload;
import dev.ferry.vmm.testing.RequiresKvm;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The control endpoint over real gRPC (Netty on localhost) in front of a real KVM VM. */
@RequiresKvm
class VmmControlServiceKvmTest {
    /** loop: inc qword [0x200000]; jmp loop */
    private static final byte[] SPIN = {0x48, (byte) 0xFF, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, (byte) 0xEB, (byte) 0xF6};

    private Server server;
    private ManagedChannel channel;

    private VmmControlGrpc.VmmControlBlockingStub serve(VmmControlService service) throws Exception {
        server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(service).build().start();
        channel = Grpc.newChannelBuilder("localhost:" + server.getPort(), InsecureChannelCredentials.create()).build();
        return VmmControlGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    @AfterEach
    void shutDown() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void statusPauseResumeDumpAndQuitOverGrpc() throws Exception {
        long load = LongModePayload.DEFAULT_LOAD_ADDRESS;
        try (KvmVm vm = KvmVm.create(VmConfig.of("control", 4 << 20, 1, new LongModePayload(SPIN, load, load)))) {
            CountDownLatch quit = new CountDownLatch(1);
            VmmControlGrpc.VmmControlBlockingStub control =
                    serve(new VmmControlService("vmm-a", () -> vm, System.nanoTime(), quit::countDown));

            VmStatus created = control.status(StatusRequest.getDefaultInstance());
            assertEquals("vmm-a", created.getName());
            assertEquals(VmState.VM_STATE_CREATED, created.getState());
            assertEquals(4 << 20, created.getMemoryBytes());
            assertEquals(1, created.getVcpus());
            assertEquals("kvm", created.getKind());
            assertEquals(ProcessHandle.current().pid(), created.getPid());

            assertEquals(VmState.VM_STATE_RUNNING, control.resume(ResumeRequest.getDefaultInstance()).getState());
            MemorySegment counted = vm.ram().getFirst().memory().asSlice(0x200000, 8);
            await().atMost(Duration.ofSeconds(10)).until(() -> counted.get(JAVA_LONG_UNALIGNED, 0) != 0);
            VmStatus paused = control.pause(PauseRequest.getDefaultInstance());
            assertEquals(VmState.VM_STATE_PAUSED, paused.getState());
            assertTrue(paused.getCountersMap().containsKey("io_exits"));

            List<MemoryChunk> chunks = dump(control, 0, 0);
            assertEquals(4, chunks.size(), "4 MiB in 1 MiB chunks");
            MemorySegment ram = vm.ram().getFirst().memory();
            for (int i = 0; i < 4; i++) {
                assertEquals((long) i << 20, chunks.get(i).getOffset());
                assertArrayEquals(ram.asSlice((long) i << 20, 1 << 20).toArray(JAVA_BYTE),
                        chunks.get(i).getData().toByteArray(), "chunk " + i + " equals guest memory");
            }
            List<MemoryChunk> counter = dump(control, 0x200000, 8);
            assertEquals(1, counter.size());
            assertArrayEquals(ram.asSlice(0x200000, 8).toArray(JAVA_BYTE), counter.getFirst().getData().toByteArray());
            assertTrue(ram.get(JAVA_BYTE, 0x200000) != 0 || ram.get(JAVA_BYTE, 0x200001) != 0,
                    "the guest ran and counted");

            StatusRuntimeException beyond = assertThrows(StatusRuntimeException.class, () -> dump(control, 4 << 20, 0));
            assertEquals(Status.Code.INVALID_ARGUMENT, beyond.getStatus().getCode());
            assertTrue(beyond.getStatus().getDescription().contains("outside guest memory"));
            StatusRuntimeException tooLong = assertThrows(StatusRuntimeException.class,
                    () -> dump(control, 1 << 20, 4 << 20));
            assertEquals(Status.Code.INVALID_ARGUMENT, tooLong.getStatus().getCode());
            assertTrue(tooLong.getStatus().getDescription().contains("runs past the end"));

            control.quit(QuitRequest.getDefaultInstance());
            assertTrue(quit.await(5, TimeUnit.SECONDS), "the quit action runs");
        }
    }

    @Test
    void anIncomingVmmWithoutAVmReportsWaitingAndRefusesPause() throws Exception {
        AtomicReference<MigratableVm> none = new AtomicReference<>();
        VmmControlGrpc.VmmControlBlockingStub control =
                serve(new VmmControlService("incoming", none::get, System.nanoTime(), () -> { }));
        assertEquals(VmState.VM_STATE_WAITING_FOR_MIGRATION, control.status(StatusRequest.getDefaultInstance()).getState());
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> control.pause(PauseRequest.getDefaultInstance()));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("waiting for an incoming migration"));
    }

    private static List<MemoryChunk> dump(VmmControlGrpc.VmmControlBlockingStub control, long offset, long length) {
        List<MemoryChunk> chunks = new ArrayList<>();
        control.dumpMemory(DumpMemoryRequest.newBuilder().setOffset(offset).setLength(length).build())
                .forEachRemaining(chunks::add);
        return chunks;
    }
}
