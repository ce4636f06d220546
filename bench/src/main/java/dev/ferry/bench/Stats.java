package dev.ferry.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Min, median and max of one figure over the repetitions that produced it (nulls are runs that did not). */
record Stats(int count, double min, double median, double max) {
    static Stats of(List<? extends Number> values) {
        List<Double> present = new ArrayList<>();
        for (Number v : values) {
            if (v != null && !Double.isNaN(v.doubleValue())) {
                present.add(v.doubleValue());
            }
        }
        if (present.isEmpty()) {
            return new Stats(0, Double.NaN, Double.NaN, Double.NaN);
        }
        Collections.sort(present);
        int n = present.size();
        double median = n % 2 == 1 ? present.get(n / 2) : (present.get(n / 2 - 1) + present.get(n / 2)) / 2.0;
        return new Stats(n, present.getFirst(), median, present.getLast());
    }

    boolean empty() {
        return count == 0;
    }

    Map<String, Object> json() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("n", count);
        json.put("min", empty() ? null : min);
        json.put("median", empty() ? null : median);
        json.put("max", empty() ? null : max);
        return json;
    }
}
