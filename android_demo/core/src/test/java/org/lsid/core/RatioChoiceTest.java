package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;

class RatioChoiceTest {
    private final AtomicInteger autoCalls = new AtomicInteger();
    private final DoubleSupplier auto = () -> {
        autoCalls.incrementAndGet();
        return 42.5;
    };

    @Test
    void aNightShotDefaultsToItsPlanAnOpenedDngToAuto() {
        assertEquals(RatioChoice.Mode.PLANNED, RatioChoice.defaultFor(97.3));
        assertEquals(RatioChoice.Mode.AUTO, RatioChoice.defaultFor(null));
    }

    @Test
    void plannedRatioIsUsedAsRecordedWithoutEstimating() {
        assertEquals(97.3, RatioChoice.resolve(RatioChoice.Mode.PLANNED, 97.3, 100, auto));
        assertEquals(0, autoCalls.get());
    }

    @Test
    void plannedWithoutAPlanFallsBackToAuto() {
        assertEquals(42.5, RatioChoice.resolve(RatioChoice.Mode.PLANNED, null, 100, auto));
        assertEquals(1, autoCalls.get());
    }

    @Test
    void manualIsTheSliderAndNeverEstimates() {
        assertEquals(250.0, RatioChoice.resolve(RatioChoice.Mode.MANUAL, 97.3, 250, auto));
        assertEquals(0, autoCalls.get());
    }

    @Test
    void autoEstimates() {
        assertEquals(42.5, RatioChoice.resolve(RatioChoice.Mode.AUTO, 97.3, 250, auto));
    }

    @Test
    void clearingTheAutoBoxReturnsToThePlanWhereThereIsOne() {
        assertEquals(RatioChoice.Mode.AUTO, RatioChoice.afterAutoBox(true, 97.3));
        assertEquals(RatioChoice.Mode.PLANNED, RatioChoice.afterAutoBox(false, 97.3));
        assertEquals(RatioChoice.Mode.MANUAL, RatioChoice.afterAutoBox(false, null));
    }

    @Test
    void labelsSayWhereTheRatioComesFrom() {
        assertTrue(RatioChoice.describe(RatioChoice.Mode.PLANNED, 97.3).contains("x97.3"));
        assertTrue(RatioChoice.describe(RatioChoice.Mode.PLANNED, 97.3).contains("planned"));
        assertEquals("ratio x100.0", RatioChoice.describe(RatioChoice.Mode.MANUAL, 100.0));
        assertEquals("ratio: automatic", RatioChoice.describe(RatioChoice.Mode.AUTO, null));
        assertEquals("ratio: automatic, x42.5", RatioChoice.describe(RatioChoice.Mode.AUTO, 42.5));
    }
}
