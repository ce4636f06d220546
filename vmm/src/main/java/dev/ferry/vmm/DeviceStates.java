package dev.ferry.vmm;

import dev.ferry.vmm.devices.A20Gate;
import dev.ferry.vmm.devices.I8042;
import dev.ferry.vmm.devices.Uart16550;
import dev.ferry.vmm.state.DeviceStateCodec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The device sections of a KVM VM's saved state: COM1, the i8042 and the port-0x92 latch. Each payload is
 * little-endian; version 1 of each is what is written here.
 */
final class DeviceStates {
    private DeviceStates() {
    }

    static List<DeviceStateCodec> of(Uart16550 uart, I8042 i8042, A20Gate a20) {
        return List.of(uart(uart), keyboardController(i8042), a20Gate(a20));
    }

    private static DeviceStateCodec uart(Uart16550 uart) {
        return new Codec("COM1") {
            @Override
            public byte[] save() {
                Uart16550.State s = uart.state();
                byte[] rx = s.rxFifo();
                ByteBuffer out = buffer(4 + 8 * 4 + 1 + 4 + rx.length);
                out.putInt(s.base()).putInt(s.dll()).putInt(s.dlm()).putInt(s.ier()).putInt(s.fcr())
                        .putInt(s.lcr()).putInt(s.mcr()).putInt(s.scr());
                out.put((byte) (s.thrInterrupt() ? 1 : 0)).putInt(rx.length).put(rx);
                return out.array();
            }

            @Override
            public void load(int version, ByteBuffer in) {
                int base = in.getInt();
                int dll = in.getInt();
                int dlm = in.getInt();
                int ier = in.getInt();
                int fcr = in.getInt();
                int lcr = in.getInt();
                int mcr = in.getInt();
                int scr = in.getInt();
                boolean thr = in.get() != 0;
                int length = in.getInt();
                if (length < 0 || length > in.remaining()) {
                    throw new IllegalArgumentException("COM1 receive FIFO of " + length + " bytes in a section with "
                            + in.remaining() + " left");
                }
                byte[] rx = new byte[length];
                in.get(rx);
                uart.restore(new Uart16550.State(base, dll, dlm, ier, fcr, lcr, mcr, scr, thr, rx));
            }
        };
    }

    private static DeviceStateCodec keyboardController(I8042 i8042) {
        return new Codec("I842") {
            @Override
            public byte[] save() {
                I8042.State s = i8042.state();
                return buffer(17).putInt(s.commandByte()).putInt(s.outputPort()).putInt(s.pendingCommand())
                        .putInt(s.output()).put((byte) (s.lastWasCommand() ? 1 : 0)).array();
            }

            @Override
            public void load(int version, ByteBuffer in) {
                i8042.restore(new I8042.State(in.getInt(), in.getInt(), in.getInt(), in.getInt(), in.get() != 0));
            }
        };
    }

    private static DeviceStateCodec a20Gate(A20Gate a20) {
        return new Codec("A20G") {
            @Override
            public byte[] save() {
                return buffer(4).putInt(a20.state().latch()).array();
            }

            @Override
            public void load(int version, ByteBuffer in) {
                a20.restore(new A20Gate.State(in.getInt()));
            }
        };
    }

    private abstract static class Codec implements DeviceStateCodec {
        private final String id;

        Codec(String id) {
            this.id = id;
        }

        @Override
        public String sectionId() {
            return id;
        }

        @Override
        public int version() {
            return 1;
        }

        static ByteBuffer buffer(int size) {
            return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        }
    }
}
