package dev.ferry.bench;

import com.google.protobuf.ByteString;
import dev.ferry.destination.ReceiverTransport;
import dev.ferry.proto.v1.MemoryChunk;
import dev.ferry.source.SourceTransport;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * What loopback can carry on this machine, in this process, at the moment of the run: the ceiling every migration
 * figure is read against. Raw TCP with 1 MiB writes is the link; gRPC with 1 MiB byte messages over
 * netty-shaded, through the transports of Ferry's migration stream, is the most a gRPC-based engine can hope for.
 */
final class LoopbackCeiling {
    static final int CHUNK = 1 << 20;

    /** One transfer: bytes moved, wall seconds, and CPU seconds of this whole process (sender and receiver). */
    record Transfer(String link, long bytes, double seconds, double cpuSeconds) {
        double gibPerS() {
            return bytes / (double) BenchCase.GIB / seconds;
        }

        double cpuSecondsPerGib() {
            return cpuSeconds / (bytes / (double) BenchCase.GIB);
        }

        Map<String, Object> json() {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("link", link);
            json.put("bytes", bytes);
            json.put("seconds", seconds);
            json.put("cpu_seconds", cpuSeconds);
            json.put("gib_per_s", gibPerS());
            json.put("cpu_seconds_per_gib", cpuSecondsPerGib());
            return json;
        }
    }

    private static final MethodDescriptor<MemoryChunk, MemoryChunk> PUSH =
            MethodDescriptor.<MemoryChunk, MemoryChunk>newBuilder()
                    .setType(MethodDescriptor.MethodType.CLIENT_STREAMING)
                    .setFullMethodName(MethodDescriptor.generateFullMethodName("ferry.bench.v1.Sink", "Push"))
                    .setRequestMarshaller(ProtoUtils.marshaller(MemoryChunk.getDefaultInstance()))
                    .setResponseMarshaller(ProtoUtils.marshaller(MemoryChunk.getDefaultInstance()))
                    .build();

    /** Where the busy thread leaves its count, so that its loop has an effect and stays a loop. */
    private static final AtomicLong BUSY_SPINS = new AtomicLong();

    private LoopbackCeiling() {
    }

    static Transfer tcp(long bytes) throws IOException, InterruptedException {
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            CompletableFuture<Long> received = new CompletableFuture<>();
            Thread receiver = Thread.ofPlatform().name("tcp-ceiling-receiver").start(() -> {
                ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK);
                long total = 0;
                try (SocketChannel in = listener.accept()) {
                    while (true) {
                        buffer.clear();
                        int n = in.read(buffer);
                        if (n < 0) {
                            break;
                        }
                        total += n;
                    }
                    received.complete(total);
                } catch (IOException e) {
                    received.completeExceptionally(e);
                }
            });
            ByteBuffer block = ByteBuffer.allocateDirect(CHUNK);
            while (block.hasRemaining()) {
                block.putLong(block.position() * 0x9E3779B97F4A7C15L);
            }
            long cpu0 = processCpuNanos();
            long t0 = System.nanoTime();
            try (SocketChannel out = SocketChannel.open(listener.getLocalAddress())) {
                for (long sent = 0; sent < bytes; sent += CHUNK) {
                    block.clear();
                    while (block.hasRemaining()) {
                        out.write(block);
                    }
                }
            }
            long got = await(received);
            long t1 = System.nanoTime();
            long cpu1 = processCpuNanos();
            receiver.join();
            return new Transfer("tcp", got, (t1 - t0) / 1e9, (cpu1 - cpu0) / 1e9);
        }
    }

    static Transfer grpc(long bytes) throws IOException, InterruptedException {
        return grpc("grpc", bytes, () -> 0);
    }

    /**
     * gRPC as above while one more thread keeps a core busy, as a running guest's vCPU does during pre-copy (the
     * benchmark's rewriting guest never idles): what a gRPC engine can hope for while the guest runs, on a host
     * with no core to spare for it. The busy thread's own CPU time is left out of the transfer's.
     */
    static Transfer grpcBesideBusyCore(long bytes) throws IOException, InterruptedException {
        AtomicBoolean stop = new AtomicBoolean();
        Thread busy = Thread.ofPlatform().name("ceiling-busy-core").start(() -> {
            long spins = 0;
            while (!stop.get()) {
                spins++;
            }
            BUSY_SPINS.addAndGet(spins);
        });
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        try {
            return grpc("grpc-busy", bytes, () -> Math.max(0, threads.getThreadCpuTime(busy.threadId())));
        } finally {
            stop.set(true);
            busy.join();
        }
    }

    private static Transfer grpc(String link, long bytes, LongSupplier excludedCpuNanos)
            throws IOException, InterruptedException {
        AtomicLong received = new AtomicLong();
        ServerServiceDefinition sink = ServerServiceDefinition.builder("ferry.bench.v1.Sink")
                .addMethod(PUSH, ServerCalls.asyncClientStreamingCall(response -> new StreamObserver<MemoryChunk>() {
                    @Override
                    public void onNext(MemoryChunk chunk) {
                        received.addAndGet(chunk.getData().size());
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                        response.onNext(MemoryChunk.newBuilder().setOffset(received.get()).build());
                        response.onCompleted();
                    }
                }))
                .build();
        // The migration stream's own transports: its flow-control window, frame limits and socket reads.
        Server server = ReceiverTransport.serverBuilder(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .addService(sink)
                .build()
                .start();
        ManagedChannel channel = SourceTransport.channelTo("127.0.0.1", server.getPort());
        try {
            byte[] pattern = new byte[CHUNK];
            for (int i = 0; i < pattern.length; i++) {
                pattern[i] = (byte) (i * 31 + (i >>> 12));
            }
            ByteString payload = ByteString.copyFrom(pattern);
            CompletableFuture<Long> acknowledged = new CompletableFuture<>();
            long cpu0 = processCpuNanos() - excludedCpuNanos.getAsLong();
            long t0 = System.nanoTime();
            ClientCalls.asyncClientStreamingCall(channel.newCall(PUSH, CallOptions.DEFAULT),
                    new ClientResponseObserver<MemoryChunk, MemoryChunk>() {
                        private long sent;
                        private boolean done;

                        @Override
                        public void beforeStart(ClientCallStreamObserver<MemoryChunk> requests) {
                            // Send only while the transport has room, as a real sender must.
                            requests.setOnReadyHandler(() -> {
                                while (requests.isReady() && sent < bytes) {
                                    requests.onNext(MemoryChunk.newBuilder().setOffset(sent).setData(payload).build());
                                    sent += CHUNK;
                                }
                                if (sent >= bytes && !done) {
                                    done = true;
                                    requests.onCompleted();
                                }
                            });
                        }

                        @Override
                        public void onNext(MemoryChunk ack) {
                            acknowledged.complete(ack.getOffset());
                        }

                        @Override
                        public void onError(Throwable t) {
                            acknowledged.completeExceptionally(t);
                        }

                        @Override
                        public void onCompleted() {
                        }
                    });
            long got = await(acknowledged);
            long t1 = System.nanoTime();
            long cpu1 = processCpuNanos() - excludedCpuNanos.getAsLong();
            return new Transfer(link, got, (t1 - t0) / 1e9, (cpu1 - cpu0) / 1e9);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static long await(CompletableFuture<Long> future) throws IOException, InterruptedException {
        try {
            return future.get(5, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            throw new IOException("loopback transfer failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("loopback transfer did not finish in 5 minutes", e);
        }
    }

    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos()).orElse(0L);
    }
}
