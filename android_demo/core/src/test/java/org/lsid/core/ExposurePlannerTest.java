package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ExposurePlannerTest {
    // A typical phone main camera: 1/100000 s .. 32 s, ISO 50 .. 6400.
    private static final long MIN_NS = 10_000L;
    private static final long MAX_NS = 32_000_000_000L;
    private final ExposurePlanner planner = new ExposurePlanner(MIN_NS, MAX_NS, 50, 6400,
            ExposurePlanner.HANDHELD_LIMIT_NS);

    private static double product(ExposurePlanner.Plan plan) {
        return (double) plan.exposureNs * plan.sensitivity;
    }

    @Test
    void dimRoomKeepsTheMeteredGainAndShortensTheTime() throws Exception {
        // AE: 1/15 s at ISO 1600; x100 -> 1/1500 s at ISO 1600.
        ExposurePlanner.Plan plan = planner.plan(66_666_667L, 1600, 100, 100);
        assertEquals(1600, plan.sensitivity);
        assertEquals(666_667L, plan.exposureNs);
        assertEquals(100.0, plan.ratio, 1e-3);
        assertFalse(plan.clamped);
    }

    @Test
    void realisedRatioIsMeteredOverPlannedLight() throws Exception {
        for (double target : new double[] {1, 30, 100, 250, 300}) {
            ExposurePlanner.Plan plan = planner.plan(40_000_000L, 800, 100, target);
            assertEquals(40_000_000.0 * 800 / product(plan), plan.ratio, 1e-9);
            assertEquals(target, plan.ratio, target * 1e-4);
            assertTrue(plan.exposureNs <= ExposurePlanner.HANDHELD_LIMIT_NS);
        }
    }

    @Test
    void neverPlansLongerThanTheHandheldLimit() throws Exception {
        // Bright enough that x1 at the metered gain would be 1/4 s: the gain goes up instead.
        ExposurePlanner.Plan plan = planner.plan(250_000_000L, 400, 100, 2);
        // At most the limit; a hair under it where the whole-number ISO overshoots.
        assertTrue(plan.exposureNs <= ExposurePlanner.HANDHELD_LIMIT_NS);
        assertTrue(plan.exposureNs > 0.99 * ExposurePlanner.HANDHELD_LIMIT_NS);
        assertTrue(plan.sensitivity > 400);
        assertEquals(2.0, plan.ratio, 2 * 1e-3);
        assertFalse(plan.clamped);
    }

    @Test
    void tooDarkForTheSensorReportsTheRatioItReaches() throws Exception {
        // 1 s at ISO 6400 metered, x1 asked: 1/30 s at the top gain is ~x30 at best.
        ExposurePlanner.Plan plan = planner.plan(1_000_000_000L, 6400, 100, 1);
        assertEquals(ExposurePlanner.HANDHELD_LIMIT_NS, plan.exposureNs);
        assertEquals(6400, plan.sensitivity);
        assertEquals(30.0, plan.ratio, 0.01);
        assertTrue(plan.clamped);
    }

    @Test
    void tooBrightLowersTheGainThenStopsAtTheShortestExposure() throws Exception {
        // 1/1000 s at ISO 100 metered, x300: 1/300000 s is below the sensor's 1/100000 s.
        ExposurePlanner.Plan plan = planner.plan(1_000_000L, 100, 100, 300);
        assertEquals(MIN_NS, plan.exposureNs);
        assertEquals(50, plan.sensitivity); // base ISO
        assertEquals(200.0, plan.ratio, 1e-9);
        assertTrue(plan.clamped);
    }

    @Test
    void postRawBoostCountsAsMeteredLight() throws Exception {
        // The ISP boosted the metered frame x2 after the RAW: the RAW was half as bright as the
        // picture AE aimed at, so the short frame gets 1/100 of the boosted light.
        ExposurePlanner.Plan plain = planner.plan(20_000_000L, 800, 100, 100);
        ExposurePlanner.Plan boosted = planner.plan(20_000_000L, 800, 200, 100);
        assertEquals(2.0, product(boosted) / product(plain), 1e-3);
        assertEquals(100.0, boosted.ratio, 0.1);
    }

    @Test
    void meteredGainOutsideTheRangeIsClampedFirst() throws Exception {
        ExposurePlanner.Plan plan = planner.plan(10_000_000L, 12800, 100, 100);
        assertEquals(6400, plan.sensitivity);
        assertEquals(100.0, plan.ratio, 0.1);
    }

    @Test
    void sensorMaximumBelowTheHandheldLimitWins() throws Exception {
        ExposurePlanner short_ = new ExposurePlanner(MIN_NS, 20_000_000L, 50, 3200,
                ExposurePlanner.HANDHELD_LIMIT_NS);
        assertEquals(20_000_000L, short_.longestExposureNs());
        ExposurePlanner.Plan plan = short_.plan(2_000_000_000L, 3200, 100, 1);
        assertEquals(20_000_000L, plan.exposureNs);
    }

    @Test
    void badInputsAreRefusedWithTheValues() {
        LsidException ratio = assertThrows(LsidException.class,
                () -> planner.plan(10_000_000L, 100, 100, 500));
        assertTrue(ratio.getMessage().contains("500"), ratio.getMessage());
        assertThrows(LsidException.class, () -> planner.plan(0, 100, 100, 100));
        assertThrows(LsidException.class, () -> planner.plan(10_000_000L, 0, 100, 100));
        assertThrows(IllegalArgumentException.class,
                () -> new ExposurePlanner(100, 10, 50, 100, 1000));
        assertThrows(IllegalArgumentException.class,
                () -> new ExposurePlanner(100, 1000, 0, 100, 1000));
        assertThrows(IllegalArgumentException.class,
                () -> new ExposurePlanner(100, 1000, 50, 100, 10));
    }

    @Test
    void planDescribesItself() throws Exception {
        ExposurePlanner.Plan plan = planner.plan(1_000_000_000L, 6400, 100, 1);
        assertTrue(plan.toString().contains("ISO 6400"), plan.toString());
        assertTrue(plan.toString().contains("asked x1"), plan.toString());
    }
}
