package dev.ferry.vmm.devices;

/** A sink that keeps the bytes as text (Latin-1), for tests and status displays. Thread-safe. */
public final class TextCapture implements SerialSink {
    private final StringBuilder text = new StringBuilder();

    @Override
    public synchronized void write(int b) {
        text.append((char) (b & 0xff));
    }

    public synchronized String text() {
        return text.toString();
    }
}
