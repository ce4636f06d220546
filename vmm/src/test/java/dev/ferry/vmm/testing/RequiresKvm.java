package dev.ferry.vmm.testing;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a test class that runs guests on the real {@code /dev/kvm}. Such classes are named
 * {@code *KvmTest}; {@code .ci/run} checks from the Surefire reports that they ran and were not skipped.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag("kvm")
@ExtendWith(KvmAvailability.class)
public @interface RequiresKvm {
}
