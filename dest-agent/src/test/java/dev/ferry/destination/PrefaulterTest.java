package dev.ferry.destination;

import com.google.protobuf.ByteString;
import dev.ferry.proto.v1.BackingHint;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefaulterTest {
    private static final long PAGES = 1000;

    private static BackingHint hint(long firstPage, long... words) {
        ByteBuffer bitmap = ByteBuffer.allocate(words.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long word : words) {
            bitmap.putLong(word);
        }
        return BackingHint.newBuilder().setFirstPage(firstPage).setBitmap(ByteString.copyFrom(bitmap.array())).build();
    }

    @Test
    void backsExactlyTheHintedPagesPastWhatWasInstalled() {
        BlankVm vm = new BlankVm(BlankVm.shape(PAGES * 4096));
        try {
            Prefaulter prefaulter = new Prefaulter(PAGES);
            long[] words = new long[16];
            words[0] = 0xffL;               // pages 0..7: installed before the thread starts
            words[2] = 1L << 5 | 1L << 63;  // pages 133 and 191
            words[10] = -1L;                // pages 640..703: more than one chunk
            prefaulter.add(hint(0, words[0], words[1], words[2], words[3], words[4], words[5], words[6], words[7]));
            prefaulter.add(hint(512, words[8], words[9], words[10], words[11], words[12], words[13], words[14],
                    words[15] & ((1L << (PAGES - 960)) - 1)));
            prefaulter.installedUpTo(7);
            prefaulter.start(vm);
            BitSet expected = new BitSet();
            expected.set(133);
            expected.set(191);
            expected.set(640, 704);
            await().atMost(10, TimeUnit.SECONDS).until(() -> vm.backed().equals(expected));
            prefaulter.stopAndJoin();
            assertEquals(expected, vm.backed());
        } finally {
            vm.close();
        }
    }

    @Test
    void refusesHintsThatDoNotFitTheVmOrComeOutOfOrder() {
        Prefaulter prefaulter = new Prefaulter(PAGES);
        assertMessage(() -> prefaulter.add(hint(64, 1)), "BackingHint from page 64 where page 0 was next");
        assertMessage(() -> prefaulter.add(BackingHint.newBuilder().setBitmap(ByteString.copyFrom(new byte[12])).build()),
                "bitmap of 12 bytes");
        assertMessage(() -> prefaulter.add(hint(0, new long[17])), "beyond the VM's 1000 pages");
        long[] words = new long[16];
        words[15] = 1L << (PAGES - 960);
        assertMessage(() -> prefaulter.add(hint(0, words)), "names pages beyond the VM's 1000 pages");
        prefaulter.add(hint(0, 1));
        prefaulter.start(new BlankVm(BlankVm.shape(PAGES * 4096)));
        assertMessage(() -> prefaulter.add(hint(64, 1)), "after round 1's first PageBatch");
        prefaulter.stopAndJoin();
    }

    private static void assertMessage(Runnable call, String words) {
        ProtocolViolation e = assertThrows(ProtocolViolation.class, call::run);
        assertTrue(e.getMessage().contains(words), e.getMessage());
    }
}
