package dev.ferry.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonNull;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSerializer;

/**
 * The {@code --json} output: maps, lists, strings, numbers, booleans and nulls as indented JSON (Gson), keys in
 * the maps' order, nulls written, fractions rounded to three decimals and NaN or infinity written as null.
 */
final class Json {
    private static final Gson GSON = new GsonBuilder()
            .setPrettyPrinting()
            .serializeNulls()
            .disableHtmlEscaping()
            .registerTypeAdapter(Double.class, (JsonSerializer<Double>) (d, type, context) ->
                    d.isNaN() || d.isInfinite() ? JsonNull.INSTANCE : new JsonPrimitive(Math.round(d * 1000.0) / 1000.0))
            .create();

    private Json() {
    }

    static String write(Object value) {
        return GSON.toJson(value);
    }
}
