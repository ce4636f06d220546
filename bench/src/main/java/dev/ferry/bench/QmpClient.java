package dev.ferry.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.io.OutputStreamWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The QEMU Machine Protocol over a unix socket: one JSON object per line each way. Commands are answered in
 * order with {@code return} or {@code error}; asynchronous {@code event} lines in between are skipped.
 */
final class QmpClient implements AutoCloseable {
    private final SocketChannel channel;
    private final BufferedReader in;
    private final Writer out;

    private QmpClient(SocketChannel channel) {
        this.channel = channel;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
        this.out = new OutputStreamWriter(Channels.newOutputStream(channel), StandardCharsets.UTF_8);
    }

    /** Connects (waiting up to {@code timeout} for QEMU to create the socket), reads the greeting, leaves negotiation mode. */
    static QmpClient connect(Path socket, Process qemu, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!qemu.isAlive()) {
                throw new IOException("QEMU exited with status " + qemu.exitValue() + " before its QMP socket answered");
            }
            if (Files.exists(socket)) {
                SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    channel.connect(UnixDomainSocketAddress.of(socket));
                    QmpClient client = new QmpClient(channel);
                    String greeting = client.in.readLine();
                    if (greeting == null || !greeting.contains("\"QMP\"")) {
                        client.close();
                        throw new IOException("no QMP greeting on " + socket + ": " + greeting);
                    }
                    client.execute("qmp_capabilities", Map.of());
                    return client;
                } catch (IOException notYet) {
                    channel.close();
                    if (System.nanoTime() > deadline) {
                        throw notYet;
                    }
                }
            } else if (System.nanoTime() > deadline) {
                throw new IOException("no QMP socket " + socket + " after " + timeout.toMillis() + " ms");
            }
            Thread.sleep(20);
        }
    }

    /** Runs one command; its {@code return} value, or a {@link QmpError} carrying QEMU's description. */
    Object execute(String command, Map<String, Object> arguments) throws IOException {
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("execute", command);
        if (!arguments.isEmpty()) {
            request.put("arguments", arguments);
        }
        out.write(Json.writeCompact(request));
        out.write("\n");
        out.flush();
        while (true) {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("QMP connection closed while waiting for the answer to " + command);
            }
            Map<String, Object> answer = Json.parseObject(line);
            if (answer.containsKey("return")) {
                return answer.get("return");
            }
            if (answer.get("error") instanceof Map<?, ?> error) {
                throw new QmpError(command + ": " + error.get("class") + ": " + error.get("desc"));
            }
        }
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> executeForObject(String command, Map<String, Object> arguments) throws IOException {
        Object result = execute(command, arguments);
        return result instanceof Map<?, ?> map ? (Map<String, Object>) map : Map.of();
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing is all we wanted
        }
    }

    static final class QmpError extends IOException {
        QmpError(String message) {
            super(message);
        }
    }
}
