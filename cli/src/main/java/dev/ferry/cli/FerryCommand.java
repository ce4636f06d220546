package dev.ferry.cli;

import dev.ferry.vmm.sys.SyscallException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** The {@code ferry} command: the composition root that wires VMMs, agents and the simulator. */
@Command(name = "ferry",
        mixinStandardHelpOptions = true,
        versionProvider = FerryVersion.class,
        description = "Live-migrates running virtual machines between Java VMMs on KVM.",
        subcommands = {DemoCommand.class, VmmCommand.class, MigrateCommand.class, MigrationStatusCommand.class,
                CancelCommand.class, CommandLine.HelpCommand.class})
public final class FerryCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Print stack traces with errors.")
    boolean verbose;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing subcommand");
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        FerryCommand root = new FerryCommand();
        CommandLine commandLine = new CommandLine(root);
        commandLine.setExecutionExceptionHandler((e, cmd, parseResult) -> {
            PrintWriter err = cmd.getErr();
            err.println("ferry: " + oneLine(e));
            if (root.verbose) {
                e.printStackTrace(err);
            }
            err.flush();
            return 1;
        });
        return commandLine;
    }

    private static String oneLine(Throwable e) {
        if (e instanceof CliException || e instanceof IllegalArgumentException || e instanceof IllegalStateException
                || e instanceof SyscallException) {
            return e.getMessage();
        }
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
}
