package dev.ferry.cli;

/** Human-readable sizes and rates. */
final class Units {
    private Units() {
    }

    static String bytes(double bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int unit = 0;
        while (bytes >= 1024 && unit < units.length - 1) {
            bytes /= 1024;
            unit++;
        }
        return unit == 0 ? String.format("%.0f %s", bytes, units[unit]) : String.format("%.1f %s", bytes, units[unit]);
    }
}
