package dev.ferry.bench;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class JsonTest {
    @Test
    void readsAQmpAnswer() {
        Map<String, Object> answer = Json.parseObject(
                "{\"return\": {\"status\": \"completed\", \"total-time\": 653, \"ram\": {\"mbps\": 3721.5, \"transferred\": 303868467}}}");
        Map<?, ?> result = (Map<?, ?>) answer.get("return");
        assertEquals("completed", result.get("status"));
        assertEquals(653L, result.get("total-time"));
        assertEquals(3721.5, ((Map<?, ?>) result.get("ram")).get("mbps"));
    }

    @Test
    void writesAndReadsBackNestedValues() {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("name", "quote \" and \\ and \n");
        value.put("list", Arrays.asList(1L, 2.5, true, null, "x"));
        value.put("empty", Map.of());
        assertEquals(value, Json.parse(Json.write(value)));
        assertEquals(value, Json.parse(Json.writeCompact(value)));
    }

    @Test
    void compactOutputIsOneLineAsQmpReadsIt() {
        Map<String, Object> command = new LinkedHashMap<>();
        command.put("execute", "migrate");
        command.put("arguments", Map.of("uri", "tcp:127.0.0.1:1"));
        assertEquals("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:127.0.0.1:1\"}}", Json.writeCompact(command));
    }

    @Test
    void rejectsTruncatedInput() {
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"status\": "));
        assertThrows(IllegalArgumentException.class, () -> Json.parse(List.of().toString() + "x"));
    }
}
