package dev.ferry.source;

import dev.ferry.proto.v1.DestinationFrame;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A slow wire during setup only: Welcome and the first ProbeLoaded reach the source {@code delayMillis} late,
 * after the destination stamped them, so both of the setup's round-trip samples come out that much too long.
 */
final class SlowSetupAnswers implements ServerInterceptor {
    private final long delayMillis;

    SlowSetupAnswers(long delayMillis) {
        this.delayMillis = delayMillis;
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
        AtomicInteger probeAnswers = new AtomicInteger();
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void sendMessage(A message) {
                DestinationFrame frame = (DestinationFrame) message;
                if (frame.hasWelcome() || frame.hasProbeLoaded() && probeAnswers.incrementAndGet() == 1) {
                    try {
                        Thread.sleep(delayMillis);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                super.sendMessage(message);
            }
        }, headers);
    }
}
