package dev.ferry.dirty;

import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.ferry.dirty.KvmDirtyLogTrackerTest.setPages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SoftwareDirtyTrackerTest {

    @Test
    void startReportsEveryPageThenOnlyMarkedOnes() {
        var tracker = new SoftwareDirtyTracker(100);
        try (var dirty = new DirtyBitmap(100)) {
            tracker.start();
            assertEquals(100, tracker.sync(dirty));
            dirty.clearAll();
            tracker.rearm(dirty, 0, 100);

            tracker.markDirty(99);
            tracker.recordHostWrite(3);

            assertEquals(2, tracker.sync(dirty));
            assertEquals(List.of(3L, 99L), setPages(dirty));
            dirty.clearAll();
            assertEquals(0, tracker.sync(dirty));
            assertEquals(new TrackerStats(3, 102, 0, 0, 0, 0, 0, 0), tracker.stats());
        }
    }

    @Test
    void syncOnlyWhileTracking() {
        var tracker = new SoftwareDirtyTracker(10);
        try (var dirty = new DirtyBitmap(10)) {
            assertThrows(IllegalStateException.class, () -> tracker.sync(dirty));
            tracker.start();
            tracker.stop();
            tracker.stop();
            assertFalse(tracker.isTracking());
            assertThrows(IllegalStateException.class, () -> tracker.sync(dirty));
            assertThrows(IndexOutOfBoundsException.class, () -> tracker.markDirty(10));
        }
    }
}
