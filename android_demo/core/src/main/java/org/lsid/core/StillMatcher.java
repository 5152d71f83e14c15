package org.lsid.core;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.function.Consumer;

/**
 * Pairs a still capture's image with its capture result by sensor timestamp, and decides when
 * the capture has failed, so that a capture always ends: with the pair, or with a reason.
 *
 * <p>Camera2 does not order an {@code ImageReader}'s images against a session's results: the
 * still's image can come before or after its {@code onCaptureStarted} / {@code
 * onCaptureCompleted}, and metering frames still in flight can come before or after it. The
 * still's timestamp is known from {@code onCaptureStarted} (or the result's {@code
 * SENSOR_TIMESTAMP}, the same value); until then images are held, at most {@code maxHeld} of
 * them (the oldest is released first: the still is the newest frame, requested after metering
 * stopped), so the reader never runs out of buffers. Once the timestamp is known every other
 * image is released and only the one with that timestamp is kept.
 *
 * <p>Failures end it as well: {@code onCaptureFailed}, {@code onCaptureBufferLost}, a timeout
 * the caller schedules, a closed camera. After the end every image still arriving is released
 * at once. Every image the matcher does not hand out through {@link #takeImage} is released
 * exactly once, through the {@code release} the caller gives ({@code Image::close}).
 *
 * <p>Not thread-safe by itself beyond its synchronized methods: call it from the camera's
 * handler thread, where Camera2 delivers all three kinds of callback.
 *
 * @param <I> the image type ({@code android.media.Image})
 * @param <R> the capture result type ({@code TotalCaptureResult})
 */
public final class StillMatcher<I, R> {
    /** Where a capture stands. */
    public enum State {
        /** Waiting for the still's image, its result or both. */
        WAITING,
        /** The image and the result are both here and belong together. */
        DONE,
        /** The capture failed; {@link #failure()} says why. */
        FAILED
    }

    private static final long UNKNOWN = Long.MIN_VALUE;

    private final int maxHeld;
    private final Consumer<? super I> release;
    private final ArrayDeque<Held<I>> held = new ArrayDeque<>();
    private long stillTimestamp = UNKNOWN;
    private I image;
    private R result;
    private State state = State.WAITING;
    private String failure;
    private boolean imageTaken;

    private static final class Held<I> {
        final I image;
        final long timestamp;

        Held(I image, long timestamp) {
            this.image = image;
            this.timestamp = timestamp;
        }
    }

    /**
     * @param maxHeld images to hold while the still's timestamp is unknown, >= 1: the reader's
     *     {@code maxImages} less one, so one buffer is always free for the still
     * @param release closes an image the matcher does not keep
     */
    public StillMatcher(int maxHeld, Consumer<? super I> release) {
        if (maxHeld < 1) {
            throw new IllegalArgumentException("maxHeld must be at least 1; got " + maxHeld);
        }
        this.maxHeld = maxHeld;
        this.release = release;
    }

    /** The still's capture started ({@code onCaptureStarted}): its sensor timestamp. */
    public synchronized State stillStarted(long timestamp) {
        if (state != State.WAITING) {
            return state;
        }
        if (stillTimestamp != UNKNOWN && stillTimestamp != timestamp) {
            return fail("the still's capture started twice, at " + stillTimestamp + " and "
                    + timestamp + " ns");
        }
        stillTimestamp = timestamp;
        for (Iterator<Held<I>> it = held.iterator(); it.hasNext();) {
            Held<I> h = it.next();
            it.remove();
            if (h.timestamp == timestamp && image == null) {
                image = h.image;
            } else {
                release.accept(h.image);
            }
        }
        return settle();
    }

    /** An image arrived from the reader, with its {@code getTimestamp()}. */
    public synchronized State imageArrived(I arrived, long timestamp) {
        if (state != State.WAITING) {
            release.accept(arrived);
            return state;
        }
        if (stillTimestamp == UNKNOWN) {
            held.addLast(new Held<>(arrived, timestamp));
            while (held.size() > maxHeld) {
                release.accept(held.removeFirst().image);
            }
            return state;
        }
        if (timestamp == stillTimestamp && image == null) {
            image = arrived;
            return settle();
        }
        release.accept(arrived); // a metering frame, or a duplicate
        return state;
    }

    /**
     * The still's result arrived ({@code onCaptureCompleted}) with its {@code SENSOR_TIMESTAMP};
     * it stands for {@code onCaptureStarted} when that has not come.
     */
    public synchronized State resultArrived(R arrived, long timestamp) {
        if (state != State.WAITING) {
            return state;
        }
        if (stillTimestamp == UNKNOWN) {
            stillStarted(timestamp);
            if (state != State.WAITING) {
                return state;
            }
        } else if (timestamp != stillTimestamp) {
            return fail("the still's result has timestamp " + timestamp + " ns; its capture "
                    + "started at " + stillTimestamp + " ns");
        }
        result = arrived;
        return settle();
    }

    /** {@code onCaptureFailed}: the still will not come. */
    public synchronized State captureFailed(String reason) {
        return state == State.WAITING ? fail("the capture failed (" + reason + ")") : state;
    }

    /** {@code onCaptureBufferLost}: the still's image will not come. */
    public synchronized State bufferLost() {
        return state == State.WAITING
                ? fail("the camera lost the still's image buffer") : state;
    }

    /** The caller's deadline passed. */
    public synchronized State timedOut(long waitedMillis) {
        if (state != State.WAITING) {
            return state;
        }
        String missing = image == null && result == null ? "image and result"
                : image == null ? "image" : "result";
        return fail("no still " + missing + " after " + waitedMillis + " ms");
    }

    /** The camera or the session went away (disconnected, error, closed). */
    public synchronized State aborted(String reason) {
        return state == State.WAITING ? fail(reason) : state;
    }

    public synchronized State state() {
        return state;
    }

    /** Why the capture failed, or null. */
    public synchronized String failure() {
        return failure;
    }

    /** The still's result, once {@link State#DONE}. */
    public synchronized R result() {
        return state == State.DONE ? result : null;
    }

    /**
     * Hands the still's image to the caller, who closes it from then on; once
     * {@link State#DONE}, else null.
     */
    public synchronized I takeImage() {
        if (state != State.DONE || imageTaken) {
            return null;
        }
        imageTaken = true;
        return image;
    }

    /**
     * Releases everything still held (the still's image too unless taken); later images are
     * released as they come. Call when the capture ends, however it ends.
     */
    public synchronized void close() {
        if (state == State.WAITING) {
            fail("closed before the still arrived");
        }
        releaseHeld();
        if (image != null && !imageTaken) {
            release.accept(image);
            imageTaken = true;
        }
    }

    private State settle() {
        if (image != null && result != null) {
            state = State.DONE;
        }
        return state;
    }

    private State fail(String reason) {
        state = State.FAILED;
        failure = reason;
        releaseHeld();
        if (image != null) {
            release.accept(image);
            image = null;
        }
        return state;
    }

    private void releaseHeld() {
        while (!held.isEmpty()) {
            release.accept(held.removeFirst().image);
        }
    }
}
