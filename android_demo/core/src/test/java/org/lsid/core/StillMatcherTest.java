package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StillMatcherTest {
    /** Stands in for android.media.Image: a name and a timestamp. */
    private static final class FakeImage {
        final long timestamp;

        FakeImage(long timestamp) {
            this.timestamp = timestamp;
        }

        @Override
        public String toString() {
            return "image@" + timestamp;
        }
    }

    private final List<FakeImage> released = new ArrayList<>();
    private final StillMatcher<FakeImage, String> matcher =
            new StillMatcher<>(2, released::add);

    private StillMatcher.State arrive(FakeImage image) {
        return matcher.imageArrived(image, image.timestamp);
    }

    @Test
    void stillImageBeforeItsResult() {
        FakeImage metering = new FakeImage(100);
        FakeImage still = new FakeImage(200);
        assertEquals(StillMatcher.State.WAITING, arrive(metering));
        assertEquals(StillMatcher.State.WAITING, arrive(still));
        assertEquals(StillMatcher.State.WAITING, matcher.stillStarted(200));
        assertEquals(List.of(metering), released); // the metering frame, at once
        assertEquals(StillMatcher.State.DONE, matcher.resultArrived("result@200", 200));
        assertSame(still, matcher.takeImage());
        assertEquals("result@200", matcher.result());
        matcher.close();
        assertEquals(List.of(metering), released); // the taken still is the caller's
    }

    @Test
    void resultBeforeItsImage() {
        assertEquals(StillMatcher.State.WAITING, matcher.stillStarted(300));
        assertEquals(StillMatcher.State.WAITING, matcher.resultArrived("result@300", 300));
        FakeImage late = new FakeImage(250); // a metering frame still in flight
        FakeImage still = new FakeImage(300);
        assertEquals(StillMatcher.State.WAITING, arrive(late));
        assertEquals(List.of(late), released);
        assertEquals(StillMatcher.State.DONE, arrive(still));
        assertSame(still, matcher.takeImage());
    }

    @Test
    void resultWithoutCaptureStartedGivesTheTimestamp() {
        FakeImage still = new FakeImage(400);
        arrive(still);
        assertEquals(StillMatcher.State.DONE, matcher.resultArrived("result@400", 400));
        assertSame(still, matcher.takeImage());
    }

    @Test
    void heldImagesAreBoundedOldestFirst() {
        FakeImage a = new FakeImage(1);
        FakeImage b = new FakeImage(2);
        FakeImage c = new FakeImage(3);
        arrive(a);
        arrive(b);
        arrive(c); // holds at most 2: the reader keeps a buffer free for the still
        assertEquals(List.of(a), released);
        matcher.stillStarted(3);
        assertEquals(List.of(a, b), released);
        assertEquals(StillMatcher.State.DONE, matcher.resultArrived("r", 3));
        assertSame(c, matcher.takeImage());
    }

    @Test
    void failedCaptureReleasesEverythingAndLaterImages() {
        FakeImage metering = new FakeImage(10);
        arrive(metering);
        assertEquals(StillMatcher.State.FAILED, matcher.captureFailed("reason 0"));
        assertTrue(matcher.failure().contains("reason 0"), matcher.failure());
        assertEquals(List.of(metering), released);
        FakeImage after = new FakeImage(20);
        assertEquals(StillMatcher.State.FAILED, arrive(after));
        assertEquals(List.of(metering, after), released);
        assertNull(matcher.takeImage());
        assertNull(matcher.result());
        // Later events change nothing.
        assertEquals(StillMatcher.State.FAILED, matcher.resultArrived("r", 20));
        assertEquals(StillMatcher.State.FAILED, matcher.stillStarted(20));
    }

    @Test
    void failureAfterTheImageReleasesTheStill() {
        matcher.stillStarted(50);
        FakeImage still = new FakeImage(50);
        arrive(still);
        assertEquals(StillMatcher.State.FAILED, matcher.captureFailed("reason 1"));
        assertEquals(List.of(still), released);
        matcher.close();
        assertEquals(List.of(still), released); // once only
    }

    @Test
    void lostBufferFails() {
        matcher.stillStarted(60);
        matcher.resultArrived("r", 60);
        assertEquals(StillMatcher.State.FAILED, matcher.bufferLost());
        assertTrue(matcher.failure().contains("buffer"), matcher.failure());
    }

    @Test
    void timeoutSaysWhatIsMissing() {
        matcher.stillStarted(70);
        matcher.resultArrived("r", 70);
        assertEquals(StillMatcher.State.FAILED, matcher.timedOut(5000));
        assertTrue(matcher.failure().contains("image"), matcher.failure());
        assertTrue(matcher.failure().contains("5000 ms"), matcher.failure());
    }

    @Test
    void timeoutAfterDoneChangesNothing() {
        FakeImage still = new FakeImage(80);
        matcher.stillStarted(80);
        arrive(still);
        matcher.resultArrived("r", 80);
        assertEquals(StillMatcher.State.DONE, matcher.timedOut(5000));
        assertNull(matcher.failure());
        matcher.close(); // not taken: closing releases it
        assertEquals(List.of(still), released);
    }

    @Test
    void resultOfAnotherFrameFails() {
        matcher.stillStarted(90);
        assertEquals(StillMatcher.State.FAILED, matcher.resultArrived("r", 91));
    }

    @Test
    void closedWhileWaitingReleasesHeldImages() {
        FakeImage a = new FakeImage(1);
        arrive(a);
        matcher.aborted("camera disconnected");
        assertEquals("camera disconnected", matcher.failure());
        matcher.close();
        assertEquals(List.of(a), released);
    }

    @Test
    void duplicateStillTimestampKeepsTheFirst() {
        matcher.stillStarted(5);
        FakeImage first = new FakeImage(5);
        FakeImage second = new FakeImage(5);
        arrive(first);
        arrive(second);
        assertEquals(List.of(second), released);
        matcher.resultArrived("r", 5);
        assertSame(first, matcher.takeImage());
        assertNull(matcher.takeImage()); // handed out once
    }

    @Test
    void needsRoomForOneImage() {
        assertThrows(IllegalArgumentException.class, () -> new StillMatcher<>(0, x -> { }));
    }
}
