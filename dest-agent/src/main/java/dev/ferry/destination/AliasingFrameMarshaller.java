package dev.ferry.destination;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.ExtensionRegistryLite;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import dev.ferry.proto.v1.SourceFrame;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;

import java.io.IOException;
import java.io.InputStream;

/**
 * Parses each SourceFrame from a fresh array with aliasing on, so a page batch's payload stays a view of
 * the received bytes instead of being copied once more (gRPC's own marshaller parses from a reused
 * per-thread buffer and must copy). The pages are then copied exactly once, into guest RAM.
 */
final class AliasingFrameMarshaller implements MethodDescriptor.Marshaller<SourceFrame> {
    private final MethodDescriptor.Marshaller<SourceFrame> standard = ProtoUtils.marshaller(SourceFrame.getDefaultInstance());

    @Override
    public InputStream stream(SourceFrame value) {
        return standard.stream(value);
    }

    /** gRPC's message streams know their length: read into an exact array, not readAllBytes' growing ones. */
    private static byte[] readFully(InputStream stream) throws IOException {
        int size = stream.available();
        if (size <= 0) {
            return stream.readAllBytes();
        }
        byte[] bytes = new byte[size];
        int read = stream.readNBytes(bytes, 0, size);
        if (read == size && stream.read() == -1) {
            return bytes;
        }
        byte[] rest = stream.readAllBytes();
        byte[] all = java.util.Arrays.copyOf(bytes, read + rest.length);
        System.arraycopy(rest, 0, all, read, rest.length);
        return all;
    }

    @Override
    public SourceFrame parse(InputStream stream) {
        try {
            byte[] bytes = readFully(stream);
            // Aliasing needs an input that knows its array is never written again; a plain
            // CodedInputStream.newInstance(bytes) would copy every bytes field despite enableAliasing.
            CodedInputStream input = UnsafeByteOperations.unsafeWrap(bytes).newCodedInput();
            input.enableAliasing(true);
            SourceFrame frame = SourceFrame.parser().parseFrom(input, ExtensionRegistryLite.getEmptyRegistry());
            input.checkLastTagWas(0);
            return frame;
        } catch (InvalidProtocolBufferException e) {
            throw Status.INTERNAL.withDescription("malformed SourceFrame: " + e.getMessage()).withCause(e)
                    .asRuntimeException();
        } catch (IOException e) {
            throw Status.INTERNAL.withDescription("unreadable SourceFrame: " + e.getMessage()).withCause(e)
                    .asRuntimeException();
        }
    }
}
