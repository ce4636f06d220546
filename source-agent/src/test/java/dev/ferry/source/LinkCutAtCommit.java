package dev.ferry.source;

import dev.ferry.destination.ReceivedFrame;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/** A fault on the wire: the link dies the moment Commit arrives, before the destination sees it. */
final class LinkCutAtCommit implements ServerInterceptor {
    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
            @Override
            public void onMessage(Q message) {
                if (((ReceivedFrame) message).frame().hasCommit()) {
                    call.close(Status.UNAVAILABLE.withDescription("link cut"), new Metadata());
                    super.onCancel();
                    return;
                }
                super.onMessage(message);
            }
        };
    }
}
