package dev.ferry.cli;

import dev.ferry.proto.v1.VmStatus;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/** How a VMM's status reads, for people and as JSON. */
final class VmStatusView {
    private VmStatusView() {
    }

    static Map<String, Object> json(VmStatus status) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", status.getName());
        json.put("state", state(status));
        json.put("kind", status.getKind());
        json.put("memory_bytes", status.getMemoryBytes());
        json.put("vcpus", status.getVcpus());
        json.put("uptime_ms", status.getUptimeMs());
        json.put("pid", status.getPid());
        json.put("stop_reason", status.getStopReason().isEmpty() ? null : status.getStopReason());
        json.put("migration_phase", status.getMigrationPhase().isEmpty() ? null : status.getMigrationPhase());
        json.put("counters", new TreeMap<>(status.getCountersMap()));
        return json;
    }

    static String text(VmStatus status) {
        StringBuilder out = new StringBuilder();
        out.append(String.format("%-16s %s%n", "name", status.getName()));
        out.append(String.format("%-16s %s%n", "state", state(status)));
        if (!status.getStopReason().isEmpty()) {
            out.append(String.format("%-16s %s%n", "stop reason", status.getStopReason()));
        }
        out.append(String.format("%-16s %s%n", "kind", status.getKind()));
        out.append(String.format("%-16s %s%n", "memory", Units.bytes(status.getMemoryBytes())));
        out.append(String.format("%-16s %d%n", "vcpus", status.getVcpus()));
        out.append(String.format("%-16s %.1f s%n", "uptime", status.getUptimeMs() / 1000.0));
        out.append(String.format("%-16s %d%n", "pid", status.getPid()));
        if (!status.getMigrationPhase().isEmpty()) {
            out.append(String.format("%-16s %s%n", "migration", status.getMigrationPhase()));
        }
        new TreeMap<>(status.getCountersMap()).forEach((k, v) -> out.append(String.format("  %-22s %d%n", k, v)));
        return out.toString();
    }

    private static String state(VmStatus status) {
        return status.getState().name().substring("VM_STATE_".length()).toLowerCase(java.util.Locale.ROOT);
    }
}
