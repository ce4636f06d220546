package dev.ferry.vmm.testing;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.RandomAccessFile;

/**
 * Runs KVM tests where {@code /dev/kvm} opens read-write and skips them loudly elsewhere. With
 * {@code FERRY_REQUIRE_KVM=1} (set by {@code .ci/run} when the device is usable) it never skips, so a
 * test that cannot reach KVM fails instead of passing quietly.
 */
public final class KvmAvailability implements ExecutionCondition {
    private static final String DEVICE = "/dev/kvm";

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if ("1".equals(System.getenv("FERRY_REQUIRE_KVM"))) {
            return ConditionEvaluationResult.enabled("FERRY_REQUIRE_KVM=1: KVM tests must run");
        }
        try (RandomAccessFile kvm = new RandomAccessFile(DEVICE, "rw")) {
            return ConditionEvaluationResult.enabled(DEVICE + " is usable");
        } catch (IOException | SecurityException e) {
            String reason = "SKIPPING KVM TEST " + context.getDisplayName() + ": " + DEVICE
                    + " is not usable here (" + e.getMessage() + ")";
            System.err.println("*** " + reason + " ***");
            return ConditionEvaluationResult.disabled(reason);
        }
    }
}
