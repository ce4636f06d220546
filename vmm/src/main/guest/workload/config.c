#include "config.h"
#include "console.h"

#define DEFAULT_WSS         (64ull << 20)
#define DEFAULT_HOT_PERCENT 10
/* Beyond this a rate is a typo, and rate * ticks could overflow the credit: say max instead. */
#define MAX_NUMERIC_RATE    (1ull << 40)

/* A token is the text between spaces; it is never NUL-terminated in place (the line is the loader's). */
struct token {
    const char *start;
    uint32_t length;
};

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool token_is(struct token token, const char *word) {
    uint32_t i = 0;
    for (; i < token.length; i++) {
        if (word[i] != token.start[i]) {
            return false;
        }
    }
    return word[i] == '\0';
}

static void put_token(struct token token) {
    char one[2] = {0, 0};
    for (uint32_t i = 0; i < token.length; i++) {
        one[0] = token.start[i];
        put_string(TO_BOTH, one);
    }
}

static bool parse_decimal(struct token token, uint64_t *value) {
    if (token.length == 0 || token.length > 19) {
        return false;
    }
    uint64_t result = 0;
    for (uint32_t i = 0; i < token.length; i++) {
        char c = token.start[i];
        if (c < '0' || c > '9') {
            return false;
        }
        result = result * 10 + (uint64_t) (c - '0');
    }
    *value = result;
    return true;
}

static bool parse_flag(struct token token, bool *value) {
    if (token_is(token, "0") || token_is(token, "1")) {
        *value = token.start[0] == '1';
        return true;
    }
    return false;
}

static bool apply(struct config *config, struct token key, struct token value) {
    uint64_t number;
    if (token_is(key, "rate")) {
        if (token_is(value, "max")) {
            config->rate_max = true;
            return true;
        }
        config->rate_max = false;
        return parse_decimal(value, &config->rate) && config->rate <= MAX_NUMERIC_RATE;
    }
    if (token_is(key, "pattern")) {
        if (token_is(value, "uniform")) {
            config->pattern = PATTERN_UNIFORM;
        } else if (token_is(value, "hotspot")) {
            config->pattern = PATTERN_HOTSPOT;
        } else if (token_is(value, "sequential")) {
            config->pattern = PATTERN_SEQUENTIAL;
        } else {
            return false;
        }
        return true;
    }
    if (token_is(key, "hot")) {
        if (!parse_decimal(value, &number) || number < 1 || number > 100) {
            return false;
        }
        config->hot_percent = (uint32_t) number;
        return true;
    }
    if (token_is(key, "wss")) {
        return parse_decimal(value, &config->wss);
    }
    if (token_is(key, "timer")) {
        if (token_is(value, "pit")) {
            config->timer = TIMER_PIT;
        } else if (token_is(value, "lapic")) {
            config->timer = TIMER_LAPIC;
        } else {
            return false;
        }
        return true;
    }
    if (token_is(key, "heartbeat")) {
        return parse_flag(value, &config->heartbeat);
    }
    if (token_is(key, "report")) {
        return parse_flag(value, &config->report);
    }
    if (token_is(key, "fill")) {
        return parse_flag(value, &config->fill);
    }
    put_string(TO_BOTH, "ferry-workload: ignoring unknown key ");
    put_token(key);
    put_string(TO_BOTH, "\n");
    return true;
}

bool config_parse(const char *cmdline, struct config *config) {
    config->rate = 0;
    config->rate_max = false;
    config->pattern = PATTERN_UNIFORM;
    config->hot_percent = DEFAULT_HOT_PERCENT;
    config->wss = DEFAULT_WSS;
    config->timer = TIMER_PIT;
    config->heartbeat = true;
    config->report = false;
    config->fill = false;
    if (cmdline == NULL) {
        return true;
    }
    const char *p = cmdline;
    for (;;) {
        while (is_space(*p)) {
            p++;
        }
        if (*p == '\0') {
            return true;
        }
        struct token key = {p, 0};
        while (*p && !is_space(*p) && *p != '=') {
            p++;
        }
        key.length = (uint32_t) (p - key.start);
        if (*p != '=') {
            /* Loaders such as GRUB and QEMU put the kernel's own name first: not ours to judge. */
            while (*p && !is_space(*p)) {
                p++;
            }
            continue;
        }
        p++;
        struct token value = {p, 0};
        while (*p && !is_space(*p)) {
            p++;
        }
        value.length = (uint32_t) (p - value.start);
        if (!apply(config, key, value)) {
            put_string(TO_BOTH, "ferry-workload: bad value for ");
            put_token(key);
            put_string(TO_BOTH, ": '");
            put_token(value);
            put_string(TO_BOTH, "'\n");
            return false;
        }
    }
}

const char *pattern_name(enum pattern pattern) {
    switch (pattern) {
    case PATTERN_HOTSPOT:
        return "hotspot";
    case PATTERN_SEQUENTIAL:
        return "sequential";
    default:
        return "uniform";
    }
}

const char *timer_name(enum timer_source timer) {
    return timer == TIMER_LAPIC ? "lapic" : "pit";
}
