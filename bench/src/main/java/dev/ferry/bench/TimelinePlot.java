package dev.ferry.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The runs as an SVG picture: each migration a bar along its own time, split into setup, pre-copy (Ferry's
 * round ends marked) and downtime, one panel per case with its QEMU counterpart underneath on the same scale.
 * Where the time goes, and how Ferry and QEMU differ, reads at a glance; the figures are in the table and JSON.
 */
final class TimelinePlot {
    /** A bar: its label and the run it draws. */
    record Row(String label, MigrationRun run) {
    }

    /** Rows drawn on one time axis under one title. */
    record Panel(String title, List<Row> rows) {
    }

    private static final int WIDTH = 960;
    private static final int LABEL = 170;
    private static final int RIGHT = 30;
    private static final int ROW = 20;
    private static final int BAR = 14;
    private static final int TITLE = 26;
    private static final int AXIS = 30;
    private static final int LEGEND = 34;
    private static final String SETUP = "#9e9e9e";
    private static final String PRECOPY = "#4a90d9";
    private static final String DOWNTIME = "#d9534f";

    private TimelinePlot() {
    }

    static String svg(List<Panel> panels) {
        int height = LEGEND;
        for (Panel panel : panels) {
            height += TITLE + panel.rows().size() * ROW + AXIS;
        }
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, height));
        svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, height));
        legend(svg);
        int y = LEGEND;
        for (Panel panel : panels) {
            y = panel(svg, panel, y);
        }
        return svg.append("</svg>\n").toString();
    }

    private static void legend(StringBuilder svg) {
        int x = LABEL;
        for (String[] item : new String[][] {{SETUP, "setup"}, {PRECOPY, "pre-copy (white marks: round ends)"},
                {DOWNTIME, "downtime"}}) {
            svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"10\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"20\">%s</text>%n", x, item[0], x + 16, escape(item[1])));
            x += 30 + item[1].length() * 7;
        }
    }

    private static int panel(StringBuilder svg, Panel panel, int top) {
        svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s</text>%n",
                top + 18, escape(panel.title())));
        double scaleMs = panel.rows().stream().map(r -> r.run().outcome() == MigrationRun.Outcome.COMPLETED
                ? r.run().totalMs() : null).filter(t -> t != null && t > 0).mapToDouble(Double::doubleValue)
                .max().orElse(1);
        double step = tickStep(scaleMs);
        scaleMs = Math.ceil(scaleMs / step) * step;
        double pxPerMs = (WIDTH - LABEL - RIGHT) / scaleMs;
        int y = top + TITLE;
        for (Row row : panel.rows()) {
            svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\">%s</text>%n", y + BAR - 2,
                    escape(row.label())));
            bar(svg, row.run(), y, pxPerMs);
            y += ROW;
        }
        if (panel.rows().stream().noneMatch(r -> r.run().outcome() == MigrationRun.Outcome.COMPLETED)) {
            return y + AXIS;
        }
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>%n",
                LABEL, y, WIDTH - RIGHT, y));
        for (double t = 0; t <= scaleMs + step / 2; t += step) {
            double x = LABEL + t * pxPerMs;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/>"
                    + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\">%s ms</text>%n",
                    x, y, x, y + 4, x, y + 16, ResultTable.number(t)));
        }
        return y + AXIS;
    }

    private static void bar(StringBuilder svg, MigrationRun run, int y, double pxPerMs) {
        if (run.outcome() != MigrationRun.Outcome.COMPLETED || run.totalMs() == null) {
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#777\">%s</text>%n", LABEL,
                    y + BAR - 2, escape(run.outcome().label() + ": "
                            + abbreviate(run.detail()))));
            return;
        }
        double total = run.totalMs();
        double setup = run.setupMs() == null ? 0 : run.setupMs();
        double downtime = run.downtimeMs() == null ? 0 : run.downtimeMs();
        segment(svg, 0, setup, y, pxPerMs, SETUP);
        segment(svg, setup, total - downtime, y, pxPerMs, PRECOPY);
        segment(svg, total - downtime, total, y, pxPerMs, DOWNTIME);
        for (double end : roundEnds(run, setup)) {
            if (end < total - downtime) {
                double x = LABEL + end * pxPerMs;
                svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                        + "stroke=\"white\" stroke-width=\"1.5\"/>%n", x, y, x, y + BAR));
            }
        }
    }

    /** Segments as thin as a pixel still show: a 2 ms downtime in a 4 s migration is the point of some cases. */
    private static void segment(StringBuilder svg, double fromMs, double toMs, int y, double pxPerMs, String color) {
        if (toMs <= fromMs) {
            return;
        }
        svg.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>%n",
                LABEL + fromMs * pxPerMs, y, Math.max(1.0, (toMs - fromMs) * pxPerMs), BAR, color));
    }

    /** Ends of Ferry's pre-copy rounds from its report, in ms since the migration began; none for QEMU. */
    private static List<Double> roundEnds(MigrationRun run, double setupMs) {
        List<Double> ends = new ArrayList<>();
        if (run.raw().get("report") instanceof Map<?, ?> report && report.get("round_reports") instanceof List<?> rounds) {
            double at = setupMs;
            for (Object round : rounds.subList(0, Math.max(0, rounds.size() - 1))) {
                if (round instanceof Map<?, ?> r && r.get("duration_ms") instanceof Number duration) {
                    at += duration.doubleValue();
                    ends.add(at);
                }
            }
        }
        return ends;
    }

    /** 1, 2 or 5 times a power of ten, the smallest giving at most five steps over the range. */
    static double tickStep(double rangeMs) {
        double raw = rangeMs / 5;
        double power = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double factor : new double[] {1, 2, 5}) {
            if (raw <= factor * power) {
                return factor * power;
            }
        }
        return 10 * power;
    }

    private static String abbreviate(String text) {
        return text == null ? "" : text.length() <= 110 ? text : text.substring(0, 110) + "...";
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
