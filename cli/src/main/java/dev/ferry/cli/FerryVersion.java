package dev.ferry.cli;

import picocli.CommandLine;

/** Reports the version written into the jar's manifest by the build, and the JVM it runs on. */
final class FerryVersion implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String version = FerryCommand.class.getPackage().getImplementationVersion();
        return new String[] {
                "ferry " + (version == null ? "(development build)" : version),
                "JVM: " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
    }
}
