package dev.ferry.dirty;

import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.ferry.dirty.KvmDirtyLogTrackerTest.setPages;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConcurrentDirtyBitmapTest {

    @Test
    void aDrainMovesTheMarksAndEmptiesTheBitmap() {
        var marks = new ConcurrentDirtyBitmap(130);
        try (var dirty = new DirtyBitmap(130)) {
            assertTrue(marks.mark(129));
            assertFalse(marks.mark(129));
            marks.mark(0);
            marks.mark(64);
            dirty.set(64);

            assertEquals(2, marks.drainInto(dirty));

            assertEquals(List.of(0L, 64L, 129L), setPages(dirty));
            assertEquals(0, marks.count());
            assertFalse(marks.isMarked(129));
            assertThrows(IndexOutOfBoundsException.class, () -> marks.mark(130));
        }
    }

    @Test
    void markAllStopsAtTheLastPage() {
        var marks = new ConcurrentDirtyBitmap(70);
        marks.markAll();
        assertEquals(70, marks.count());
        try (var dirty = new DirtyBitmap(70)) {
            assertEquals(70, marks.drainInto(dirty));
            assertEquals(70, dirty.count());
        }
        marks.markAll();
        marks.clear();
        assertEquals(0, marks.count());
    }
}
