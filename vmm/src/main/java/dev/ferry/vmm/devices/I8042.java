package dev.ferry.vmm.devices;

import java.util.function.Consumer;

/**
 * The PS/2 controller's two ports, 0x60 (data) and 0x64 (status/command), as far as boot code and kernels
 * use them without a keyboard: the command byte, the output port, A20 via the output port, and command
 * 0xFE (pulse the reset line), which is reported as a guest reset request.
 */
public final class I8042 implements PortDevice {
    public static final int DATA_PORT = 0x60;
    public static final int STATUS_PORT = 0x64;
    public static final String RESET_REASON = "guest requested reset via i8042";

    private static final int STATUS_OUTPUT_FULL = 0x01;
    private static final int STATUS_SYSTEM = 0x04;
    private static final int STATUS_COMMAND = 0x08;
    private static final int STATUS_UNLOCKED = 0x10;

    private static final int CMD_READ_COMMAND_BYTE = 0x20;
    private static final int CMD_WRITE_COMMAND_BYTE = 0x60;
    private static final int CMD_SELF_TEST = 0xaa;
    private static final int CMD_READ_OUTPUT_PORT = 0xd0;
    private static final int CMD_WRITE_OUTPUT_PORT = 0xd1;
    private static final int CMD_PULSE_RESET = 0xfe;

    /**
     * The controller as plain data.
     *
     * @param pendingCommand a command waiting for its data byte on port 0x60, or 0
     * @param output         the byte waiting in the output buffer, or -1
     */
    public record State(int commandByte, int outputPort, int pendingCommand, int output, boolean lastWasCommand) {
    }

    private final Consumer<String> resetRequest;
    private int commandByte = 0x45;
    private int outputPort = 0x03; // A20 on, reset line not asserted
    private int pendingCommand;
    private int output = -1;
    private boolean lastWasCommand;

    /** @param resetRequest told the reason when the guest pulses the reset line */
    public I8042(Consumer<String> resetRequest) {
        this.resetRequest = resetRequest;
    }

    @Override
    public synchronized int read(int port, int size) {
        if (port == STATUS_PORT) {
            return STATUS_SYSTEM | STATUS_UNLOCKED | (lastWasCommand ? STATUS_COMMAND : 0)
                    | (output >= 0 ? STATUS_OUTPUT_FULL : 0);
        }
        int value = output >= 0 ? output : 0;
        output = -1;
        return value;
    }

    @Override
    public void write(int port, int size, int value) {
        boolean reset;
        synchronized (this) {
            reset = port == STATUS_PORT ? command(value & 0xff) : data(value & 0xff);
        }
        if (reset) {
            resetRequest.accept(RESET_REASON);
        }
    }

    private boolean command(int command) {
        lastWasCommand = true;
        switch (command) {
            case CMD_READ_COMMAND_BYTE -> output = commandByte;
            case CMD_WRITE_COMMAND_BYTE, CMD_WRITE_OUTPUT_PORT -> pendingCommand = command;
            case CMD_SELF_TEST -> output = 0x55;
            case CMD_READ_OUTPUT_PORT -> output = outputPort;
            case CMD_PULSE_RESET -> {
                return true;
            }
            default -> { }
        }
        return false;
    }

    private boolean data(int value) {
        lastWasCommand = false;
        int command = pendingCommand;
        pendingCommand = 0;
        if (command == CMD_WRITE_COMMAND_BYTE) {
            commandByte = value;
        } else if (command == CMD_WRITE_OUTPUT_PORT) {
            outputPort = value | 0x01;
            // Bit 0 of the output port is the reset line, active low.
            return (value & 0x01) == 0;
        }
        return false;
    }

    public synchronized State state() {
        return new State(commandByte, outputPort, pendingCommand, output, lastWasCommand);
    }

    public synchronized void restore(State state) {
        commandByte = state.commandByte();
        outputPort = state.outputPort();
        pendingCommand = state.pendingCommand();
        output = state.output();
        lastWasCommand = state.lastWasCommand();
    }
}
