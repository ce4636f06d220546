package dev.ferry.simulator;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The simulated VM's non-RAM state: the workload it runs and where each vCPU stands in it.
 *
 * <p>Format, version 1, big-endian:
 * <pre>
 *   8  magic "FERRYSIM"
 *   4  version (1)
 *   4  vCPU count N
 *   8  RAM pages (must match the loading VM)
 *   2+ workload spec, modified UTF-8 with a length prefix (DataOutput.writeUTF)
 *   N x 48  per vCPU: next sequential page, xorshift state, ticks, pages written, pacing credit, pending pages
 *   4  CRC32C of everything before it
 * </pre>
 * A reader refuses a newer version rather than guess; version bumps are for incompatible changes only.
 */
public record SimulatedVmState(WorkloadSpec workload, long ramPages, List<VcpuPosition> vcpus) {
    public static final int VERSION = 1;
    private static final byte[] MAGIC = "FERRYSIM".getBytes(StandardCharsets.US_ASCII);

    public SimulatedVmState {
        vcpus = List.copyOf(vcpus);
        if (vcpus.isEmpty()) {
            throw new IllegalArgumentException("simulated VM state without vCPUs");
        }
    }

    public byte[] encode() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + vcpus.size() * 48);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.write(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(vcpus.size());
            out.writeLong(ramPages);
            out.writeUTF(workload.toSpecString());
            for (VcpuPosition p : vcpus) {
                out.writeLong(p.nextSequentialPage());
                out.writeLong(p.xorshift());
                out.writeLong(p.ticks());
                out.writeLong(p.pagesWritten());
                out.writeLong(p.pacingCredit());
                out.writeLong(p.pendingPages());
            }
            CRC32C crc = new CRC32C();
            crc.update(bytes.toByteArray());
            out.writeInt((int) crc.getValue());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** @throws IllegalArgumentException naming what is wrong: magic, version, length, checksum or a field */
    public static SimulatedVmState decode(byte[] state) {
        if (state.length < MAGIC.length + 4 || !Arrays.equals(state, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new IllegalArgumentException("not a simulated VM state: it does not start with magic \"FERRYSIM\""
                    + " (" + state.length + " bytes)");
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(state))) {
            in.skipNBytes(MAGIC.length);
            int version = in.readInt();
            if (version > VERSION) {
                throw new IllegalArgumentException("simulated VM state version " + version
                        + " is newer than this simulator reads (" + VERSION + ")");
            }
            if (version < 1) {
                throw new IllegalArgumentException("simulated VM state with invalid version " + version);
            }
            CRC32C crc = new CRC32C();
            crc.update(state, 0, state.length - 4);
            int stored = (state[state.length - 4] & 0xff) << 24 | (state[state.length - 3] & 0xff) << 16
                    | (state[state.length - 2] & 0xff) << 8 | (state[state.length - 1] & 0xff);
            if ((int) crc.getValue() != stored) {
                throw new IllegalArgumentException("simulated VM state of " + state.length
                        + " bytes fails its CRC32C check (truncated or corrupted)");
            }
            int count = in.readInt();
            if (count < 1 || count > 4096) {
                throw new IllegalArgumentException("simulated VM state with " + count + " vCPUs");
            }
            long ramPages = in.readLong();
            WorkloadSpec workload = WorkloadSpec.parse(in.readUTF());
            List<VcpuPosition> vcpus = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                vcpus.add(new VcpuPosition(in.readLong(), in.readLong(), in.readLong(), in.readLong(),
                        in.readLong(), in.readLong()));
            }
            in.readInt();
            if (in.available() != 0) {
                throw new IllegalArgumentException("simulated VM state has " + in.available() + " bytes after its end");
            }
            return new SimulatedVmState(workload, ramPages, vcpus);
        } catch (EOFException e) {
            throw new IllegalArgumentException("simulated VM state truncated at " + state.length + " bytes");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
