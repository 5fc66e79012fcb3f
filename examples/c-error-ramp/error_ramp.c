/*
 * error-ramp: a closed-loop Switchyard balancer in plain C (ABI 1.1), written against
 * switchyard_plugin.h alone. It picks like p2c-peak-ewma (two distinct random ready endpoints,
 * the cheaper wins) but also hears how every request ended, through the 1.1 `observe` hook:
 *
 *   - each endpoint keeps an EWMA of its failure ratio (5xx, a failing gRPC status, a connect
 *     failure, a reset, being late; what the client did counts for nothing);
 *   - once it has `minRequests` outcomes and the ratio reaches `errorThreshold`, the endpoint
 *     is ejected for `ejectMs` (never more than half the endpoints at once);
 *   - then it comes back with a slow start: its cost counts 10x at first, falling linearly to
 *     1x over `rampMs`. An endpoint a later update() adds ramps in the same way.
 *
 * A fast endpoint that answers 500s looks like the best one to a latency-only balancer (its
 * peak-EWMA cost is tiny), so p2c-peak-ewma sends it most requests; this one stops after a few.
 * Per-endpoint state survives an update() that keeps an address, through
 * sy_endpoint.previous_index. Time comes from CLOCK_MONOTONIC (a vDSO call, no lock).
 *
 * Build it on its own (see README.md), or through SwiftPM as the ExampleErrorRampBalancer product.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "switchyard_plugin.h"

/* The host's services, kept from the entry call: valid for the life of the process. */
static const sy_host_services *host;

/* What one endpoint has shown lately. */
typedef struct endpoint_state {
    double error_ratio;      /* EWMA of failures (1) and successes (0) */
    uint32_t samples;        /* outcomes heard since it (re)joined */
    uint64_t ejected_until;  /* CLOCK_MONOTONIC ns; 0 when not ejected */
    uint64_t ramp_start;     /* CLOCK_MONOTONIC ns when it (re)joined; 0 at full weight */
} endpoint_state;

/* One instance per backend per event loop: only ever touched from that loop, no locks. */
typedef struct error_ramp {
    double threshold;        /* errorThreshold */
    double alpha;            /* EWMA weight of one outcome: 2 / (minRequests + 1) */
    uint32_t min_requests;   /* minRequests */
    uint64_t eject_ns;       /* ejectMs */
    uint64_t ramp_ns;        /* rampMs */
    uint64_t rng;            /* xorshift64* state, from the instance seed */
    endpoint_state *endpoints;
    uint32_t count;
    uint32_t ejected;        /* endpoints ejected now */
    uint32_t settling;       /* endpoints ejected or ramping: pick reads the clock only then */
} error_ramp;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t next_random(error_ramp *self) {
    self->rng ^= self->rng >> 12;
    self->rng ^= self->rng << 25;
    self->rng ^= self->rng >> 27;
    return self->rng * 0x2545F4914F6CDD1DULL;
}

/* ---- config: a flat JSON object of numbers ---------------------------------------------- */

static const char *skip_space(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* Reads `{"errorThreshold": 0.5, "minRequests": 10, "ejectMs": 10000, "rampMs": 10000,
 * "defaultRttMs": 30, "decayMs": 10000}` (any subset, any order; the last two set the host's
 * peak-EWMA load model, as p2c-peak-ewma's defaultRtt and decay do). Returns NULL, or what is
 * wrong, written into `why`. */
static const char *parse_config(sy_str json, error_ramp *self, sy_load_model *model, char *why, size_t why_size) {
    char text[1024];
    if (json.len >= sizeof text) return "config is longer than 1023 bytes";
    memcpy(text, json.ptr, json.len);
    text[json.len] = '\0';
    const char *p = skip_space(text);
    if (strncmp(p, "null", 4) == 0 && *skip_space(p + 4) == '\0') return NULL;
    if (*p++ != '{') return "config must be a mapping of numbers: errorThreshold, minRequests, ejectMs, rampMs, defaultRttMs, decayMs";
    p = skip_space(p);
    if (*p == '}') return *skip_space(p + 1) == '\0' ? NULL : "unexpected text after the config";
    for (;;) {
        if (*p++ != '"') return "config must be a mapping of numbers: errorThreshold, minRequests, ejectMs, rampMs, defaultRttMs, decayMs";
        const char *key = p;
        while (*p != '"' && *p != '\0' && *p != '\\') p++;
        if (*p != '"') return "a config key is not a plain string";
        size_t key_len = (size_t)(p - key);
        p = skip_space(p + 1);
        if (*p++ != ':') return "config must be a mapping of numbers: errorThreshold, minRequests, ejectMs, rampMs, defaultRttMs, decayMs";
        p = skip_space(p);
        char *end;
        double value = strtod(p, &end);
        if (end == p) {
            snprintf(why, why_size, "%.*s must be a number (durations in milliseconds, e.g. ejectMs: 10000)", (int)key_len, key);
            return why;
        }
        p = skip_space(end);
#define KEY(name) (key_len == sizeof(name) - 1 && memcmp(key, name, key_len) == 0)
        if (KEY("errorThreshold")) {
            if (!(value > 0 && value <= 1)) return "errorThreshold must be in (0, 1]";
            self->threshold = value;
        } else if (KEY("minRequests")) {
            if (!(value >= 1 && value <= 10000) || value != (double)(uint32_t)value) return "minRequests must be a whole number in 1...10000";
            self->min_requests = (uint32_t)value;
        } else if (KEY("ejectMs")) {
            if (!(value >= 1 && value <= 3600000)) return "ejectMs must be in 1...3600000";
            self->eject_ns = (uint64_t)(value * 1e6);
        } else if (KEY("rampMs")) {
            if (!(value >= 0 && value <= 3600000)) return "rampMs must be in 0...3600000";
            self->ramp_ns = (uint64_t)(value * 1e6);
        } else if (KEY("defaultRttMs")) {
            if (!(value > 0 && value <= 60000)) return "defaultRttMs must be in (0, 60000]";
            model->default_rtt_ns = (uint64_t)(value * 1e6);
        } else if (KEY("decayMs")) {
            if (!(value >= 1 && value <= 3600000)) return "decayMs must be in 1...3600000";
            model->decay_ns = (uint64_t)(value * 1e6);
        } else {
            snprintf(why, why_size, "unknown key '%.*s' (known: errorThreshold, minRequests, ejectMs, rampMs, defaultRttMs, decayMs)", (int)key_len, key);
            return why;
        }
#undef KEY
        if (*p == ',') {
            p = skip_space(p + 1);
            continue;
        }
        if (*p == '}') return *skip_space(p + 1) == '\0' ? NULL : "unexpected text after the config";
        return "config must be a mapping of numbers: errorThreshold, minRequests, ejectMs, rampMs, defaultRttMs, decayMs";
    }
}

/* ---- hooks ------------------------------------------------------------------------------ */

static sy_status create(void *context, const sy_balancer_params *params, sy_load_model *model,
                        sy_call *call, void **instance) {
    (void)context;
    error_ramp *self = calloc(1, sizeof *self);
    if (self == NULL) {
        host->fail(call, SY_STR_LIT("out of memory"));
        return SY_ERROR;
    }
    self->threshold = 0.5;
    self->min_requests = 10;
    self->eject_ns = 10000000000ULL;
    self->ramp_ns = 10000000000ULL;
    char why[160];
    /* The host's defaults, unless the config sets them (field by field: a struct from the
     * host is read only as far as its struct_size, never copied whole). */
    sy_load_model wanted = {.struct_size = sizeof wanted, .default_rtt_ns = model->default_rtt_ns, .decay_ns = model->decay_ns};
    const char *problem = parse_config(params->config_json, self, &wanted, why, sizeof why);
    if (problem != NULL) {
        free(self);
        host->fail(call, (sy_str){problem, strlen(problem)});
        return SY_ERROR;
    }
    model->default_rtt_ns = wanted.default_rtt_ns;
    model->decay_ns = wanted.decay_ns;
    self->alpha = 2.0 / ((double)self->min_requests + 1.0);
    self->rng = params->seed ^ 0x9E3779B97F4A7C15ULL;
    if (self->rng == 0) self->rng = 1;
    *instance = self;
    return SY_OK;
}

static void destroy(void *instance) {
    error_ramp *self = instance;
    free(self->endpoints);
    free(self);
}

static void recount(error_ramp *self) {
    self->ejected = 0;
    self->settling = 0;
    for (uint32_t i = 0; i < self->count; i++) {
        if (self->endpoints[i].ejected_until) self->ejected++;
        if (self->endpoints[i].ejected_until || self->endpoints[i].ramp_start) self->settling++;
    }
}

/* Carries each kept address's state over by previous_index (ABI 1.1; a 1.0 host does not send
 * it, and every endpoint starts fresh). An address joining a set that had endpoints ramps in;
 * the first set (after an empty one) starts at full weight. */
static void update(void *instance, const sy_endpoint *endpoints, uint32_t count, uint32_t endpoint_size) {
    error_ramp *self = instance;
    endpoint_state *next = count ? calloc(count, sizeof *next) : NULL;
    if (count && next == NULL) {
        host->log(host->context, SY_LOG_ERROR, SY_STR_LIT("error-ramp: out of memory in update; picks fail until the next one"));
        free(self->endpoints);
        self->endpoints = NULL;
        self->count = 0;
        return;
    }
    int carries = SY_ELEMENT_HAS_FIELD(sy_endpoint, endpoint_size, previous_index);
    uint64_t now = now_ns();
    for (uint32_t i = 0; i < count; i++) {
        const sy_endpoint *e = SY_ELEMENT(const sy_endpoint, endpoints, endpoint_size, i);
        uint32_t previous = carries ? e->previous_index : SY_NEW_ENDPOINT;
        if (previous != SY_NEW_ENDPOINT && previous < self->count) {
            next[i] = self->endpoints[previous];
        } else if (self->count > 0 && self->ramp_ns > 0) {
            next[i].ramp_start = now; /* a new endpoint joins slowly, as one back from ejection */
        }
    }
    free(self->endpoints);
    self->endpoints = next;
    self->count = count;
    recount(self);
}

/* How much endpoint i's cost counts now: 1 at full weight, up to 10 while it ramps in. Ends
 * an ejection or a ramp whose time is up. */
static double penalty(error_ramp *self, uint32_t i, uint64_t now) {
    endpoint_state *e = &self->endpoints[i];
    if (e->ejected_until) {
        if (now < e->ejected_until) return -1; /* out */
        e->ejected_until = 0;
        e->ramp_start = self->ramp_ns ? now : 0;
        e->error_ratio = 0;
        e->samples = 0;
        self->ejected--;
        if (!e->ramp_start) self->settling--;
    }
    if (!e->ramp_start) return 1;
    uint64_t elapsed = now - e->ramp_start;
    if (elapsed >= self->ramp_ns) {
        e->ramp_start = 0;
        self->settling--;
        return 1;
    }
    return 10.0 - 9.0 * ((double)elapsed / (double)self->ramp_ns);
}

/* The score of endpoint i (lower is better), or a negative number when it cannot be chosen.
 * An ejection or ramp whose time is up ends here, ready or not (so the counts stay true). */
static double score(error_ramp *self, const sy_pick *request, uint32_t i, uint64_t now, int ignore_ejection) {
    const sy_endpoint_load *load = SY_ELEMENT(const sy_endpoint_load, request->loads, request->load_size, i);
    double factor = self->settling ? penalty(self, i, now) : 1;
    if (!load->ready) return -1;
    if (factor < 0) {
        if (!ignore_ejection) return -1;
        factor = 1;
    }
    return load->cost * factor;
}

static int32_t pick(void *instance, const sy_pick *request) {
    error_ramp *self = instance;
    if (request->count != self->count) return SY_PICK_ERROR; /* update() ran out of memory */
    uint64_t now = self->settling ? now_ns() : 0;
    /* Two distinct random candidates among the choosable ones; when every ready endpoint is
     * ejected, the ejection is ignored (a ready endpoint is never refused a request). */
    for (int ignore_ejection = 0; ignore_ejection < 2; ignore_ejection++) {
        uint32_t choosable = 0;
        for (uint32_t i = 0; i < request->count; i++)
            if (score(self, request, i, now, ignore_ejection) >= 0) choosable++;
        if (choosable == 0) continue;
        uint32_t first = (uint32_t)(next_random(self) % choosable);
        uint32_t second = choosable > 1 ? (first + 1 + (uint32_t)(next_random(self) % (choosable - 1))) % choosable : first;
        /* The candidates' indexes and scores; a tie goes to `first`, itself a random choice. */
        int32_t a = SY_PICK_ERROR, b = SY_PICK_ERROR;
        double score_a = 0, score_b = 0;
        for (uint32_t i = 0, ordinal = 0; i < request->count; i++) {
            double s = score(self, request, i, now, ignore_ejection);
            if (s < 0) continue;
            if (ordinal == first) { a = (int32_t)i; score_a = s; }
            if (ordinal == second) { b = (int32_t)i; score_b = s; }
            ordinal++;
        }
        int32_t best = score_b < score_a ? b : a;
        return best;
    }
    return SY_PICK_NONE; /* nothing ready: the host does not ask then */
}

static void observe(void *instance, const sy_outcome *outcome) {
    error_ramp *self = instance;
    if (outcome->struct_size < SY_OUTCOME_SIZE_1_1 || outcome->endpoint >= self->count) return;
    if (outcome->flags & SY_OUTCOME_CANCEL) return; /* the client's doing, not the endpoint's */
    /* SY_OUTCOME_TIMEOUT: the endpoint was late, a failure like a 5xx. */
    endpoint_state *e = &self->endpoints[outcome->endpoint];
    if (e->ejected_until) return; /* a request sent before the ejection */
    int32_t g = outcome->grpc_status;
    int failed = (outcome->flags & (SY_OUTCOME_CONNECT_FAILURE | SY_OUTCOME_RESET | SY_OUTCOME_TIMEOUT)) ||
                 outcome->http_status >= 500 || g == 2 || g == 4 || g == 7 || g == 13 || g == 14 || g == 15;
    e->error_ratio += self->alpha * ((failed ? 1.0 : 0.0) - e->error_ratio);
    if (e->samples < UINT32_MAX) e->samples++;
    /* Eject while at most half the endpoints would be out, so the rest can take the load. */
    if (failed && e->samples >= self->min_requests && e->error_ratio >= self->threshold &&
        (self->ejected + 1) * 2 <= self->count) {
        if (!e->ramp_start) self->settling++;
        e->ramp_start = 0;
        e->ejected_until = now_ns() + self->eject_ns;
        self->ejected++;
    }
}

static const sy_balancer_def error_ramp_def = {
    .struct_size = sizeof(sy_balancer_def),
    .name = "error-ramp",
    .summary = "p2c on peak-EWMA cost; ejects endpoints that fail, then ramps them back in (C example, ABI 1.1 observe)",
    .context = NULL,
    .create = create,
    .destroy = destroy,
    .update = update,
    .pick = pick,
    .observe = observe,
};

static const sy_balancer_def *const balancers[] = {&error_ramp_def};

static const sy_plugin_descriptor descriptor = {
    .struct_size = sizeof(sy_plugin_descriptor),
    .abi_major = SY_ABI_MAJOR,
    .abi_minor = SY_ABI_MINOR,
    .name = "example-error-ramp",
    .version = "1.0.0",
    .resolvers = NULL,
    .resolver_count = 0,
    .balancer_count = 1,
    .balancers = balancers,
};

SY_EXPORT const sy_plugin_descriptor *switchyard_plugin_entry_v1(const sy_host_services *services) {
    host = services;
    return &descriptor;
}
