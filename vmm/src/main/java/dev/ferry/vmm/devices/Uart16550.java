package dev.ferry.vmm.devices;

import dev.ferry.vm.HeartbeatRing;

import java.util.ArrayDeque;

/**
 * A 16550A UART on eight I/O ports (COM1: 0x3F8, IRQ 4). The transmitter is infinitely fast (LSR always
 * reports THRE|TEMT), each byte out goes to a {@link SerialSink} and is timestamped into a
 * {@link HeartbeatRing}. Received bytes come from {@link #receive}. Interrupts: received data and
 * transmitter-empty, level-triggered on an {@link InterruptLine}.
 */
public final class Uart16550 implements PortDevice {
    public static final int COM1 = 0x3f8;
    public static final int COM1_IRQ = 4;
    public static final int PORTS = 8;

    private static final int LCR_DLAB = 0x80;
    private static final int IER_RX = 0x01;
    private static final int IER_THRE = 0x02;
    private static final int LSR_DR = 0x01;
    private static final int LSR_THRE = 0x20;
    private static final int LSR_TEMT = 0x40;
    private static final int MCR_LOOP = 0x10;
    private static final int IIR_NONE = 0x01;
    private static final int IIR_THRE = 0x02;
    private static final int IIR_RX = 0x04;
    private static final int RX_FIFO = 16;

    /**
     * The UART's registers and receive FIFO as plain data.
     *
     * @param thrInterrupt a transmitter-empty interrupt is pending (cleared by reading IIR or writing THR)
     * @param rxFifo       received bytes not yet read, oldest first
     */
    public record State(int base, int dll, int dlm, int ier, int fcr, int lcr, int mcr, int scr,
                        boolean thrInterrupt, byte[] rxFifo) {
        public State {
            rxFifo = rxFifo.clone();
        }

        @Override
        public byte[] rxFifo() {
            return rxFifo.clone();
        }
    }

    private final int base;
    private final SerialSink sink;
    private final HeartbeatRing heartbeats;
    private final ExitCounters counters;
    private final InterruptLine irq;
    private final ArrayDeque<Byte> rx = new ArrayDeque<>();
    private int dll = 0x0c; // 9600 baud, what firmware leaves behind
    private int dlm;
    private int ier;
    private int fcr;
    private int lcr = 0x03;
    private int mcr = 0x08;
    private int scr;
    private boolean thrInterrupt;
    private boolean irqLevel;

    public Uart16550(int base, SerialSink sink, HeartbeatRing heartbeats, ExitCounters counters, InterruptLine irq) {
        this.base = base;
        this.sink = sink;
        this.heartbeats = heartbeats;
        this.counters = counters;
        this.irq = irq;
    }

    @Override
    public synchronized int read(int port, int size) {
        int value = switch (port - base) {
            case 0 -> (lcr & LCR_DLAB) != 0 ? dll : receiveByte();
            case 1 -> (lcr & LCR_DLAB) != 0 ? dlm : ier;
            case 2 -> interruptIdentification();
            case 3 -> lcr;
            case 4 -> mcr;
            case 5 -> LSR_THRE | LSR_TEMT | (rx.isEmpty() ? 0 : LSR_DR);
            case 6 -> modemStatus();
            case 7 -> scr;
            default -> 0xff;
        };
        updateInterrupt();
        return value;
    }

    @Override
    public synchronized void write(int port, int size, int value) {
        int v = value & 0xff;
        switch (port - base) {
            case 0 -> {
                if ((lcr & LCR_DLAB) != 0) {
                    dll = v;
                } else {
                    transmit(v);
                }
            }
            case 1 -> {
                if ((lcr & LCR_DLAB) != 0) {
                    dlm = v;
                } else {
                    boolean threNewlyEnabled = (v & IER_THRE) != 0 && (ier & IER_THRE) == 0;
                    ier = v & 0x0f;
                    if (threNewlyEnabled) {
                        thrInterrupt = true; // the holding register is empty right now
                    }
                }
            }
            case 2 -> {
                fcr = v & 0xc9;
                if ((v & 0x02) != 0) {
                    rx.clear();
                }
            }
            case 3 -> lcr = v;
            case 4 -> mcr = v & 0x1f;
            case 7 -> scr = v;
            default -> { } // LSR and MSR are read-only
        }
        updateInterrupt();
    }

    /** Queues a byte the outside world sent to the guest; dropped when the FIFO is full (overrun). */
    public synchronized void receive(byte b) {
        if (rx.size() < RX_FIFO) {
            rx.add(b);
        }
        updateInterrupt();
    }

    public synchronized State state() {
        byte[] fifo = new byte[rx.size()];
        int i = 0;
        for (Byte b : rx) {
            fifo[i++] = b;
        }
        return new State(base, dll, dlm, ier, fcr, lcr, mcr, scr, thrInterrupt, fifo);
    }

    public synchronized void restore(State state) {
        if (state.base() != base) {
            throw new IllegalArgumentException("UART state for port 0x" + Integer.toHexString(state.base())
                    + " restored into the UART at 0x" + Integer.toHexString(base));
        }
        dll = state.dll();
        dlm = state.dlm();
        ier = state.ier();
        fcr = state.fcr();
        lcr = state.lcr();
        mcr = state.mcr();
        scr = state.scr();
        thrInterrupt = state.thrInterrupt();
        rx.clear();
        for (byte b : state.rxFifo()) {
            rx.add(b);
        }
        updateInterrupt();
    }

    private void transmit(int v) {
        thrInterrupt = (ier & IER_THRE) != 0;
        if ((mcr & MCR_LOOP) != 0) {
            if (rx.size() < RX_FIFO) {
                rx.add((byte) v);
            }
            return;
        }
        heartbeats.record(System.nanoTime());
        counters.increment(ExitCounters.SERIAL_BYTES);
        sink.write(v);
    }

    private int receiveByte() {
        Byte b = rx.poll();
        return b == null ? 0 : b & 0xff;
    }

    private int interruptIdentification() {
        int fifoBits = (fcr & 0x01) != 0 ? 0xc0 : 0;
        if ((ier & IER_RX) != 0 && !rx.isEmpty()) {
            return fifoBits | IIR_RX;
        }
        if ((ier & IER_THRE) != 0 && thrInterrupt) {
            thrInterrupt = false; // reading IIR acknowledges THRE
            return fifoBits | IIR_THRE;
        }
        return fifoBits | IIR_NONE;
    }

    private int modemStatus() {
        if ((mcr & MCR_LOOP) != 0) {
            // Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
            return ((mcr & 0x01) << 5) | ((mcr & 0x02) << 3) | ((mcr & 0x04) << 4) | ((mcr & 0x08) << 4);
        }
        return 0xb0; // DCD, DSR, CTS: a terminal is attached
    }

    private void updateInterrupt() {
        boolean pending = ((ier & IER_RX) != 0 && !rx.isEmpty()) || ((ier & IER_THRE) != 0 && thrInterrupt);
        boolean level = pending && (mcr & 0x08) != 0; // OUT2 gates the IRQ on PCs
        if (level != irqLevel) {
            irqLevel = level;
            irq.set(level);
        }
    }
}
