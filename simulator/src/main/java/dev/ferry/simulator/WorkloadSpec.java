package dev.ferry.simulator;

import dev.ferry.vm.MigratableVm;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What a dirtying workload does: how fast it writes guest pages, which pages, over how much memory.
 * The same spec drives the simulated vCPUs and, through {@link #toGuestCommandLine()}, the KVM workload guest.
 *
 * <p>Text form: {@code dirty:rate=256M,pattern=hotspot:10%,wss=512M}. Sizes are bytes with an optional
 * binary suffix K, M or G (powers of 1024). {@code rate} is bytes of page writes per second (every write
 * dirties one 4 KiB page, so 256M is 65536 page writes per second) or {@code max}; {@code rate=0} is a guest
 * that only keeps time. {@code pattern} is {@code uniform}, {@code sequential} or {@code hotspot:P%}: the
 * first P% of the working set takes {@value #HOT_WRITE_PERCENT}% of the writes, the rest fall uniformly on
 * the whole working set. {@code wss} is the working set, the first pages of RAM the workload writes;
 * omitted (or 0) it is all of RAM. {@code fill=1} writes every page of the working set once when the guest
 * starts, before the rate applies: with {@code rate=0}, a guest whose RAM holds data but that writes no more.
 * {@code pattern} defaults to uniform, {@code rate} to max, {@code fill} to 0.
 *
 * @param rateBytesPerSecond bytes of page writes per second, or {@link #MAX_RATE}
 * @param pattern            which pages the writes fall on
 * @param hotPercent         for {@link Pattern#HOTSPOT}, the hot share of the working set (1..100); else 0
 * @param wssBytes           working-set bytes from the start of RAM, or 0 for all of RAM
 * @param fill               whether every working-set page is written once at start
 */
public record WorkloadSpec(long rateBytesPerSecond, Pattern pattern, int hotPercent, long wssBytes, boolean fill) {
    /** {@link #rateBytesPerSecond()} of a workload that writes as fast as it can. */
    public static final long MAX_RATE = -1;
    /** Share of the writes that land on the hot set of a hotspot workload. */
    public static final int HOT_WRITE_PERCENT = 90;
    /** The largest numeric rate, 1 TiB/s (the workload guest's limit too); beyond it say max. */
    public static final long LARGEST_RATE = 1L << 40;
    /** The KVM workload guest never dirties above 3 GiB, so this working set means "all of its RAM" there. */
    private static final long GUEST_ALL_RAM = 3L << 30;
    /** A guest that runs (ticks, heartbeats) but writes nothing. */
    public static final WorkloadSpec IDLE = new WorkloadSpec(0, Pattern.UNIFORM, 0, 0, false);

    private static final String PREFIX = "dirty:";
    private static final int PAGE = MigratableVm.PAGE_SIZE;

    public enum Pattern {
        UNIFORM, HOTSPOT, SEQUENTIAL;

        String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public WorkloadSpec {
        if ((rateBytesPerSecond < 0 && rateBytesPerSecond != MAX_RATE) || rateBytesPerSecond > LARGEST_RATE) {
            throw new IllegalArgumentException("workload rate " + rateBytesPerSecond
                    + " B/s outside 0.." + LARGEST_RATE + " (say max for as fast as possible)");
        }
        if (pattern == null) {
            throw new IllegalArgumentException("workload pattern missing");
        }
        if (pattern == Pattern.HOTSPOT ? hotPercent < 1 || hotPercent > 100 : hotPercent != 0) {
            throw new IllegalArgumentException("hot percent " + hotPercent + " for pattern " + pattern.word()
                    + " (hotspot takes 1..100, other patterns 0)");
        }
        if (wssBytes < 0 || (wssBytes > 0 && wssBytes < PAGE)) {
            throw new IllegalArgumentException("working set of " + wssBytes + " bytes: needs at least one page ("
                    + PAGE + " bytes), or 0 for all of RAM");
        }
    }

    public boolean isMaxRate() {
        return rateBytesPerSecond == MAX_RATE;
    }

    /** Working-set pages in a VM of {@code ramPages} pages. */
    public long wssPages(long ramPages) {
        return wssBytes == 0 ? ramPages : wssBytes / PAGE;
    }

    /**
     * Parses the text form. Errors name the bad part, e.g. {@code bad rate '12Q' in workload spec '...':
     * expected bytes per second with an optional K/M/G suffix, or max}.
     */
    public static WorkloadSpec parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("workload spec missing");
        }
        String spec = text.strip();
        if (spec.equals("idle")) {
            return IDLE;
        }
        if (!spec.startsWith(PREFIX)) {
            throw new IllegalArgumentException("workload spec '" + text + "' does not start with '" + PREFIX
                    + "' (e.g. dirty:rate=256M,pattern=hotspot:10%,wss=512M, or idle)");
        }
        Map<String, String> parts = new LinkedHashMap<>();
        String body = spec.substring(PREFIX.length());
        if (!body.isEmpty()) {
            for (String part : body.split(",", -1)) {
                int eq = part.indexOf('=');
                if (eq <= 0 || eq == part.length() - 1) {
                    throw new IllegalArgumentException("bad part '" + part + "' in workload spec '" + text
                            + "': expected key=value");
                }
                String key = part.substring(0, eq).strip().toLowerCase(Locale.ROOT);
                if (!key.equals("rate") && !key.equals("pattern") && !key.equals("wss") && !key.equals("fill")) {
                    throw new IllegalArgumentException("unknown key '" + key + "' in workload spec '" + text
                            + "': expected rate, pattern, wss or fill");
                }
                if (parts.put(key, part.substring(eq + 1).strip()) != null) {
                    throw new IllegalArgumentException("key '" + key + "' given twice in workload spec '" + text + "'");
                }
            }
        }

        long rate = MAX_RATE;
        String rateText = parts.get("rate");
        if (rateText != null && !rateText.equalsIgnoreCase("max")) {
            rate = size(rateText, "rate", text, "bytes per second with an optional K/M/G suffix, or max");
            if (rate > LARGEST_RATE) {
                throw new IllegalArgumentException("bad rate '" + rateText + "' in workload spec '" + text
                        + "': above 1024G per second, say max");
            }
        }

        Pattern pattern = Pattern.UNIFORM;
        int hot = 0;
        String patternText = parts.get("pattern");
        if (patternText != null) {
            String p = patternText.toLowerCase(Locale.ROOT);
            if (p.equals("uniform")) {
                pattern = Pattern.UNIFORM;
            } else if (p.equals("sequential")) {
                pattern = Pattern.SEQUENTIAL;
            } else if (p.startsWith("hotspot:")) {
                pattern = Pattern.HOTSPOT;
                String percent = p.substring("hotspot:".length());
                if (percent.endsWith("%")) {
                    percent = percent.substring(0, percent.length() - 1);
                }
                try {
                    hot = Integer.parseInt(percent);
                } catch (NumberFormatException e) {
                    hot = -1;
                }
                if (hot < 1 || hot > 100) {
                    throw new IllegalArgumentException("bad hotspot share '" + patternText + "' in workload spec '"
                            + text + "': expected hotspot:P% with P in 1..100");
                }
            } else {
                throw new IllegalArgumentException("bad pattern '" + patternText + "' in workload spec '" + text
                        + "': expected uniform, sequential or hotspot:P%");
            }
        }

        long wss = 0;
        String wssText = parts.get("wss");
        if (wssText != null) {
            wss = size(wssText, "wss", text, "bytes with an optional K/M/G suffix");
            if (wss > 0 && wss < PAGE) {
                throw new IllegalArgumentException("bad wss '" + wssText + "' in workload spec '" + text
                        + "': smaller than one page (" + PAGE + " bytes)");
            }
        }
        String fillText = parts.getOrDefault("fill", "0");
        if (!fillText.equals("0") && !fillText.equals("1")) {
            throw new IllegalArgumentException("bad fill '" + fillText + "' in workload spec '" + text
                    + "': expected 0 or 1");
        }
        return new WorkloadSpec(rate, pattern, hot, wss, fillText.equals("1"));
    }

    /** The text form; {@code parse(toSpecString())} equals this spec. */
    public String toSpecString() {
        return PREFIX + "rate=" + (isMaxRate() ? "max" : sizeText(rateBytesPerSecond))
                + ",pattern=" + (pattern == Pattern.HOTSPOT ? "hotspot:" + hotPercent + "%" : pattern.word())
                + ",wss=" + sizeText(wssBytes) + (fill ? ",fill=1" : "");
    }

    /**
     * The KVM workload guest's command line: {@code rate=<bytes|max> pattern=uniform|hotspot|sequential
     * [hot=<percent>] wss=<bytes> [fill=1]}, plain decimal numbers as the guest wants them. {@code hot} appears only
     * for hotspot (the guest takes 1..100 and ignores it otherwise). A spec over all of RAM ({@code wss} 0)
     * asks for 3 GiB, the most the guest dirties, which the guest clamps to its usable RAM.
     */
    public String toGuestCommandLine() {
        return "rate=" + (isMaxRate() ? "max" : Long.toString(rateBytesPerSecond))
                + " pattern=" + pattern.word()
                + (pattern == Pattern.HOTSPOT ? " hot=" + hotPercent : "")
                + " wss=" + (wssBytes == 0 ? GUEST_ALL_RAM : wssBytes) + (fill ? " fill=1" : "");
    }

    @Override
    public String toString() {
        return toSpecString();
    }

    private static long size(String value, String key, String spec, String expected) {
        String v = value.strip();
        long unit = 1;
        if (!v.isEmpty()) {
            switch (Character.toUpperCase(v.charAt(v.length() - 1))) {
                case 'K' -> unit = 1L << 10;
                case 'M' -> unit = 1L << 20;
                case 'G' -> unit = 1L << 30;
                default -> unit = 1;
            }
            if (unit != 1) {
                v = v.substring(0, v.length() - 1);
            }
        }
        try {
            long n = Long.parseLong(v);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return Math.multiplyExact(n, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("bad " + key + " '" + value + "' in workload spec '" + spec
                    + "': expected " + expected);
        }
    }

    private static String sizeText(long bytes) {
        if (bytes != 0 && bytes % (1L << 30) == 0) {
            return bytes / (1L << 30) + "G";
        }
        if (bytes != 0 && bytes % (1L << 20) == 0) {
            return bytes / (1L << 20) + "M";
        }
        if (bytes != 0 && bytes % (1L << 10) == 0) {
            return bytes / (1L << 10) + "K";
        }
        return Long.toString(bytes);
    }
}
