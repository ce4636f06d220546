package dev.ferry.destination;

import com.google.protobuf.ByteString;
import dev.ferry.proto.v1.BackingHint;
import dev.ferry.proto.v1.Commit;
import dev.ferry.proto.v1.DestinationFrame;
import dev.ferry.proto.v1.Hello;
import dev.ferry.proto.v1.MigrationGrpc;
import dev.ferry.proto.v1.PageBatch;
import dev.ferry.proto.v1.PageKind;
import dev.ferry.proto.v1.ProtocolVersion;
import dev.ferry.proto.v1.RamRegionSpec;
import dev.ferry.proto.v1.RoundEnd;
import dev.ferry.proto.v1.SourceFrame;
import dev.ferry.proto.v1.VmShapeSpec;
import dev.ferry.vm.MigratableVm;
import dev.ferry.vm.RamRegion;
import dev.ferry.vm.VmFactory;
import dev.ferry.vm.VmShape;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A hand-driven source speaking raw frames to a real receiver over localhost: every bad input ends the session. */
class ReceiverValidationTest {
    private static final long RAM = 4L << 20;

    private final List<String> discarded = new CopyOnWriteArrayList<>();
    private final List<MigratableVm> running = new CopyOnWriteArrayList<>();
    private final List<BlankVm> built = new CopyOnWriteArrayList<>();
    private volatile String buildFailure;
    private MigrationReceiver receiver;
    private Server server;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        VmFactory factory = new VmFactory() {
            @Override
            public void check(VmShape shape) {
                BlankVm.check(shape);
            }

            @Override
            public MigratableVm create(VmShape shape) {
                if (buildFailure != null) {
                    throw new IllegalStateException(buildFailure);
                }
                BlankVm vm = new BlankVm(shape);
                built.add(vm);
                return vm;
            }
        };
        receiver = new MigrationReceiver(factory, new MigrationListener() {
            @Override
            public void onVmRunning(MigratableVm vm) {
                running.add(vm);
            }

            @Override
            public void onDiscarded(String reason) {
                discarded.add(reason);
            }
        });
        server = ReceiverTransport.serverBuilder(new InetSocketAddress("127.0.0.1", 0))
                .addService(receiver).build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        receiver.close();
        for (BlankVm vm : built) {
            vm.close();
        }
    }

    /** One Transfer call driven frame by frame. */
    private final class RawSource implements StreamObserver<DestinationFrame> {
        final LinkedBlockingQueue<Object> received = new LinkedBlockingQueue<>();
        final StreamObserver<SourceFrame> out = MigrationGrpc.newStub(channel).transfer(this);

        RawSource send(SourceFrame frame) {
            out.onNext(frame);
            return this;
        }

        /** The next frame other than Progress. */
        DestinationFrame next() throws InterruptedException {
            while (true) {
                Object item = received.poll(5, TimeUnit.SECONDS);
                assertNotNull(item, "the destination said nothing");
                if (item instanceof DestinationFrame frame) {
                    if (!frame.hasProgress()) {
                        return frame;
                    }
                } else {
                    throw new AssertionError("no frame but " + item);
                }
            }
        }

        /** Asserts the destination ends the session with a Failed frame whose reason contains {@code words}. */
        void assertFails(String words) throws InterruptedException {
            DestinationFrame frame = next();
            assertTrue(frame.hasFailed(), "expected Failed, got " + frame);
            assertTrue(frame.getFailed().getReason().contains(words), frame.getFailed().getReason());
            assertEquals("completed", received.poll(5, TimeUnit.SECONDS), "the destination ends the call");
            assertTrue(discarded.stream().anyMatch(r -> r.contains(words)), discarded.toString());
            assertTrue(running.isEmpty());
            out.onCompleted();
        }

        @Override
        public void onNext(DestinationFrame value) {
            received.add(value);
        }

        @Override
        public void onError(Throwable t) {
            received.add(t);
        }

        @Override
        public void onCompleted() {
            received.add("completed");
        }
    }

    private static SourceFrame hello(int version, VmShape shape) {
        VmShapeSpec.Builder spec = VmShapeSpec.newBuilder().setVcpus(shape.vcpus())
                .setCpuFeatures(shape.cpuFeatures()).setKind(shape.kind());
        for (RamRegion region : shape.ram()) {
            spec.addRam(RamRegionSpec.newBuilder().setSlot(region.slot()).setGuestPhysAddr(region.guestPhysAddr())
                    .setSize(region.size()));
        }
        return SourceFrame.newBuilder().setHello(Hello.newBuilder().setProtocolVersionValue(version)
                .setSessionId("test-session").setShape(spec).setSourceClockNanos(System.nanoTime())).build();
    }

    private static SourceFrame goodHello() {
        return hello(ProtocolVersion.PROTOCOL_VERSION_1_VALUE, BlankVm.shape(RAM));
    }

    /** A RAW batch of the given pages, each filled with its page number, with a correct CRC32C. */
    static PageBatch.Builder batch(int round, long sequence, long... pages) {
        ByteBuffer numbers = ByteBuffer.allocate(pages.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        byte[] kinds = new byte[pages.length];
        byte[] data = new byte[pages.length * MigratableVm.PAGE_SIZE];
        for (int i = 0; i < pages.length; i++) {
            numbers.putLong(pages[i]);
            kinds[i] = (byte) PageKind.PAGE_KIND_RAW_VALUE;
            java.util.Arrays.fill(data, i * MigratableVm.PAGE_SIZE, (i + 1) * MigratableVm.PAGE_SIZE, (byte) pages[i]);
        }
        return withCrc(PageBatch.newBuilder().setRound(round).setSequence(sequence)
                .setPageNumbers(ByteString.copyFrom(numbers.array())).setKinds(ByteString.copyFrom(kinds))
                .setData(ByteString.copyFrom(data)));
    }

    /** Sets the CRC32C the contents call for, as an honest but confused source would. */
    static PageBatch.Builder withCrc(PageBatch.Builder batch) {
        CRC32C crc = new CRC32C();
        crc.update(batch.getPageNumbers().asReadOnlyByteBuffer());
        crc.update(batch.getKinds().asReadOnlyByteBuffer());
        crc.update(batch.getCompressedSizes().asReadOnlyByteBuffer());
        crc.update(batch.getData().asReadOnlyByteBuffer());
        return batch.setCrc32C((int) crc.getValue());
    }

    private static SourceFrame frame(PageBatch.Builder batch) {
        return SourceFrame.newBuilder().setPageBatch(batch).build();
    }

    private RawSource welcomed() throws InterruptedException {
        RawSource source = new RawSource().send(goodHello());
        DestinationFrame welcome = source.next();
        assertTrue(welcome.hasWelcome(), welcome.toString());
        return source;
    }

    @Test
    void anUnknownProtocolVersionIsRefusedNamingBothVersions() throws Exception {
        RawSource source = new RawSource().send(hello(7, BlankVm.shape(RAM)));
        DestinationFrame refused = source.next();
        assertTrue(refused.hasRefused(), refused.toString());
        assertTrue(refused.getRefused().getReason().contains("version 7 offered"), refused.getRefused().getReason());
        assertTrue(refused.getRefused().getReason().contains("1..1"), refused.getRefused().getReason());
        assertEquals(ProtocolVersion.PROTOCOL_VERSION_1, refused.getRefused().getNewestSupported());
        assertTrue(built.isEmpty(), "no VM is built for a refused session");
    }

    @Test
    void aHelloWithoutVersionIsRefused() throws Exception {
        DestinationFrame refused = new RawSource().send(hello(0, BlankVm.shape(RAM))).next();
        assertTrue(refused.getRefused().getReason().contains("version 0"), refused.toString());
    }

    @Test
    void aShapeTheFactoryCannotBuildIsRefusedWithItsReason() throws Exception {
        VmShape kvm = new VmShape(List.of(new RamRegion(0, 0, RAM)), 1, "cpuid-digest", "kvm");
        DestinationFrame refused = new RawSource().send(hello(1, kvm)).next();
        assertTrue(refused.hasRefused(), refused.toString());
        assertTrue(refused.getRefused().getReason().contains("'kvm'"), refused.getRefused().getReason());
    }

    @Test
    void aVmThatFailsToBuildAfterTheWelcomeEndsTheSessionWithItsReason() throws Exception {
        buildFailure = "no memory left for 4 MiB of guest RAM";
        welcomed().send(frame(batch(1, 1, 1))).assertFails("could not build the source's VM: " + buildFailure);
    }

    @Test
    void aDiscardedSessionClosesItsVm() throws Exception {
        welcomed().send(frame(batch(1, 1, 1))).send(frame(batch(1, 3, 2))).assertFails("sequence 3 where 2 was next");
        assertEquals(1, built.size());
        assertFalse(built.getFirst().isOpen(), "the discarded VM's RAM is released");
    }

    @Test
    void aPageOutsideTheVmEndsTheSession() throws Exception {
        long pages = RAM / MigratableVm.PAGE_SIZE;
        welcomed().send(frame(batch(1, 1, 0, pages))).assertFails("outside the VM's " + pages + " pages");
    }

    @Test
    void aBadChecksumEndsTheSession() throws Exception {
        PageBatch.Builder batch = batch(1, 1, 3, 4);
        batch.setData(batch.getData().substring(1).concat(ByteString.copyFrom(new byte[] {42})));
        welcomed().send(frame(batch)).assertFails("CRC32C mismatch");
    }

    @Test
    void dataThatDisagreesWithTheKindsEndsTheSession() throws Exception {
        PageBatch.Builder batch = batch(1, 1, 3);
        batch.setKinds(ByteString.copyFrom(new byte[] {(byte) PageKind.PAGE_KIND_LZ4_VALUE}));
        welcomed().send(frame(withCrc(batch))).assertFails("LZ4 page without the LZ4 capability");
    }

    @Test
    void aPayloadShorterThanItsKindsEndsTheSession() throws Exception {
        PageBatch.Builder batch = batch(1, 1, 3, 4);
        batch.setData(batch.getData().substring(0, MigratableVm.PAGE_SIZE + 100));
        welcomed().send(frame(withCrc(batch))).assertFails("its kinds and sizes say 8192");
    }

    @Test
    void anUnknownPageKindEndsTheSession() throws Exception {
        PageBatch.Builder batch = batch(1, 1, 3);
        batch.setKinds(ByteString.copyFrom(new byte[] {9}));
        welcomed().send(frame(withCrc(batch))).assertFails("page kind 9 is not a PageKind");
    }

    @Test
    void aSequenceGapEndsTheSession() throws Exception {
        welcomed().send(frame(batch(1, 1, 1))).send(frame(batch(1, 3, 2))).assertFails("sequence 3 where 2 was next");
    }

    @Test
    void aBackingHintAfterTheFirstBatchEndsTheSession() throws Exception {
        welcomed().send(frame(batch(1, 1, 1))).send(backingHint(0, 1)).assertFails("BackingHint after round 1's first PageBatch");
    }

    @Test
    void aBackingHintBeyondTheVmEndsTheSession() throws Exception {
        long pages = RAM / MigratableVm.PAGE_SIZE;
        welcomed().send(backingHint(0, new long[(int) (pages / 64) + 1])).assertFails("beyond the VM's " + pages + " pages");
    }

    @Test
    void hintedPagesAreBackedAndTheSessionGoesOn() throws Exception {
        RawSource source = welcomed().send(backingHint(0, 0b1110)).send(frame(batch(1, 1, 1)));
        await().atMost(10, TimeUnit.SECONDS).until(() -> built.size() == 1
                && built.getFirst().backed().equals(BitSet.valueOf(new long[] {0b1110})));
        source.send(frame(batch(1, 2, 2))).send(SourceFrame.newBuilder().setRoundEnd(RoundEnd.newBuilder()
                .setRound(1).setPages(2).setLastSequence(2)).build());
        Object progress = source.received.poll(5, TimeUnit.SECONDS);
        assertTrue(progress instanceof DestinationFrame frame && frame.getProgress().getRound() == 1, String.valueOf(progress));
        assertTrue(discarded.isEmpty(), discarded.toString());
        source.out.onCompleted();
    }

    private static SourceFrame backingHint(long firstPage, long... words) {
        ByteBuffer bitmap = ByteBuffer.allocate(words.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long word : words) {
            bitmap.putLong(word);
        }
        return SourceFrame.newBuilder().setBackingHint(BackingHint.newBuilder().setFirstPage(firstPage)
                .setBitmap(ByteString.copyFrom(bitmap.array()))).build();
    }

    @Test
    void pagesBeforeHelloEndTheSession() throws Exception {
        new RawSource().send(frame(batch(1, 1, 1))).assertFails("PageBatch in state AWAIT_HELLO");
    }

    @Test
    void commitBeforeTheFinalStateEndsTheSession() throws Exception {
        welcomed().send(frame(batch(1, 1, 1)))
                .send(SourceFrame.newBuilder().setRoundEnd(RoundEnd.newBuilder().setRound(1).setPages(1)
                        .setLastSequence(1)).build())
                .send(SourceFrame.newBuilder().setCommit(Commit.newBuilder().setSessionId("test-session")).build())
                .assertFails("Commit in state RECEIVING");
    }

    @Test
    void aSecondConcurrentMigrationIsRefused() throws Exception {
        RawSource first = welcomed();
        DestinationFrame refused = new RawSource().send(goodHello()).next();
        assertTrue(refused.hasRefused(), refused.toString());
        assertTrue(refused.getRefused().getReason().contains("another migration"), refused.toString());
        first.out.onCompleted();
    }

    @Test
    void aSourceThatVanishesBeforeCommitLeavesNoVm() throws Exception {
        RawSource source = welcomed().send(frame(batch(1, 1, 1)));
        ((io.grpc.stub.ClientCallStreamObserver<SourceFrame>) source.out).cancel("source died", null);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (discarded.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(1, discarded.size(), discarded.toString());
        assertTrue(discarded.getFirst().contains("broke"), discarded.toString());
        assertTrue(running.isEmpty());
        assertTrue(!receiver.busy(), "the receiver takes the next migration");
    }
}
