package dev.ferry.bench;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonNull;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSerializer;
import com.google.gson.ToNumberPolicy;

import java.util.Map;

/**
 * JSON as maps, lists, strings, numbers (Long or Double), booleans and nulls, through Gson: QMP's commands and
 * answers, Ferry's {@code --json} reports and the results file. NaN and infinity are written as null.
 */
final class Json {
    private static final GsonBuilder BUILDER = new GsonBuilder()
            .serializeNulls()
            .disableHtmlEscaping()
            .registerTypeAdapter(Double.class, (JsonSerializer<Double>) (d, type, context) ->
                    d.isNaN() || d.isInfinite() ? JsonNull.INSTANCE : new JsonPrimitive(d))
            .setObjectToNumberStrategy(ToNumberPolicy.LONG_OR_DOUBLE);
    private static final Gson COMPACT = BUILDER.create();
    private static final Gson PRETTY = BUILDER.setPrettyPrinting().create();

    private Json() {
    }

    static Object parse(String text) {
        try {
            return COMPACT.fromJson(text, Object.class);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("bad JSON (" + e.getMessage() + ") in " + abbreviate(text), e);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> parseObject(String text) {
        if (parse(text) instanceof Map<?, ?> map) {
            return (Map<String, Object>) map;
        }
        throw new IllegalArgumentException("expected a JSON object: " + abbreviate(text));
    }

    static String write(Object value) {
        return PRETTY.toJson(value);
    }

    /** One line, as QMP wants its commands. */
    static String writeCompact(Object value) {
        return COMPACT.toJson(value);
    }

    private static String abbreviate(String text) {
        return text.length() <= 200 ? text : text.substring(0, 200) + "...";
    }
}
