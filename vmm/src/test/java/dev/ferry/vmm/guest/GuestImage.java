package dev.ferry.vmm.guest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A guest image the build put on the classpath under {@code /guests/}. */
final class GuestImage {
    private final String name;

    GuestImage(String name) {
        this.name = name;
    }

    String resource() {
        return "/guests/" + name;
    }

    byte[] bytes() {
        try (InputStream in = GuestImage.class.getResourceAsStream(resource())) {
            if (in == null) {
                throw new IllegalStateException(resource() + " is not on the classpath: the vmm build runs"
                        + " src/main/guest/build.sh in generate-resources");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource(), e);
        }
    }

    /** Copies the image into a file for programs that take a path, such as QEMU. */
    Path copyTo(Path directory) throws IOException {
        Path file = directory.resolve(name);
        Files.write(file, bytes());
        return file;
    }
}
