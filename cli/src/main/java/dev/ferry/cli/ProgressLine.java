package dev.ferry.cli;

import java.io.PrintStream;

/** One status line on standard error that redraws itself in place on a terminal and stays silent elsewhere. */
final class ProgressLine {
    private final PrintStream err = System.err;
    private final boolean terminal;
    private boolean drawn;

    ProgressLine(boolean wanted) {
        this.terminal = wanted && System.console() != null;
    }

    /** Replaces the line with {@code text}, on a terminal. */
    void show(String text) {
        if (terminal) {
            err.print("\r" + text + "\u001b[K");
            err.flush();
            drawn = true;
        }
    }

    /** Ends the line: a terminal keeps what it showed last. */
    void end() {
        if (drawn) {
            err.println();
            drawn = false;
        }
    }

    /** Replaces the line with {@code text} for good, on a terminal or not. */
    void finish(String text) {
        if (drawn) {
            err.print("\r" + text + "\u001b[K\n");
            drawn = false;
        } else {
            err.println(text);
        }
    }
}
