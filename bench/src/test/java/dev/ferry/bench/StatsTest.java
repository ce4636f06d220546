package dev.ferry.bench;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StatsTest {
    @Test
    void medianOfAnOddCountIsTheMiddleValue() {
        Stats s = Stats.of(List.of(30.0, 10.0, 20.0));
        assertEquals(new Stats(3, 10.0, 20.0, 30.0), s);
    }

    @Test
    void medianOfAnEvenCountIsTheMeanOfTheTwoMiddleValues() {
        assertEquals(25.0, Stats.of(List.of(40L, 10L, 20L, 30L)).median());
    }

    @Test
    void runsWithoutTheFigureAreLeftOut() {
        Stats s = Stats.of(Arrays.asList(5.0, null, 7.0));
        assertEquals(2, s.count());
        assertEquals(6.0, s.median());
    }

    @Test
    void noValuesGiveAnEmptyStatistic() {
        assertTrue(Stats.of(Arrays.asList((Double) null)).empty());
    }
}
