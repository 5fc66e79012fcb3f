/*
 * A deliberately configurable plugin for the host's tests. Built by the test suite with
 * `cc -shared -fPIC -D...`; each variant breaks one rule of switchyard_plugin.h:
 *
 *   -DPLUGIN_NAME='"x"'   plugin name (default "fixture")
 *   -DIMPL_PREFIX='"x"'   prefix of the implementation names (default "fixture")
 *   -DNO_ENTRY            export no entry symbol
 *   -DNULL_DESCRIPTOR     entry returns NULL
 *   -DWRONG_MAJOR         descriptor says ABI major 2
 *   -DSMALL_DESCRIPTOR    descriptor struct_size of 8 bytes
 *   -DMISSING_PICK        the balancer has no pick hook
 *   -DDUPLICATE_BALANCER  two balancers with the same name
 *   -DBAD_NAME            an implementation name with upper case and spaces
 *   -DPICK_LAST           the balancer's default pick is the last ready endpoint, not the first
 *   -DFUTURE_MINOR        built as if against a later minor: the descriptor says minor
 *                         SY_ABI_MINOR + 5, and every def it fills is 32 bytes longer (fields
 *                         this host does not know, set to 0xA5), which struct_size says
 *
 * At run time the config block picks a behaviour (matched by substring):
 *   resolver: "refuse", "overlong", "twice", "silent-ok", "bad-utf8", "error", "bad-status", "section"
 *   balancer: "refuse", "out-of-range", "not-ready", "none", "pick-error", "least-backend"
 *             (the ready endpoint with the fewest backend_in_flight, ABI 1.1)
 * Built against ABI 1.1 or later, the balancer logs what update() and observe() hear:
 *   "update previous=P0,P1,..." (previous_index, "-" for SY_NEW_ENDPOINT) and
 *   "observed endpoint=E latency_ns=L http=H grpc=G flags=F".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard_plugin.h"

#ifdef CONSTRUCTOR_MARKER
#include <stdio.h>
/* Proves whether the file was opened: dlopen runs constructors. */
__attribute__((constructor)) static void mark_opened(void) {
    FILE *marker = fopen(CONSTRUCTOR_MARKER, "w");
    if (marker) fclose(marker);
}
#endif

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "fixture"
#endif
#ifndef IMPL_PREFIX
#define IMPL_PREFIX "fixture"
#endif

static const sy_host_services *host;

#ifdef FUTURE_MINOR
#define FUTURE_BYTES 32
#define FIXTURE_MINOR (SY_ABI_MINOR + 5)
#define FUTURE_FIELDS , {[0 ... FUTURE_BYTES - 1] = 0xA5}
#else
#define FUTURE_BYTES 0
#define FIXTURE_MINOR SY_ABI_MINOR
#define FUTURE_FIELDS
#endif
/* A def with the fields a later minor would append after it (none unless FUTURE_MINOR). */
#define FIXTURE_DEF(type) struct { type def; unsigned char future[FUTURE_BYTES + 1]; }
#define FIXTURE_SIZE(type) (uint32_t)(sizeof(type) + FUTURE_BYTES)

static sy_str lit(const char *s) { return (sy_str){s, strlen(s)}; }

static int has(sy_str config, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= config.len; i++)
        if (memcmp(config.ptr + i, needle, n) == 0) return 1;
    return 0;
}

/* ---- resolver: behaviour chosen by its config ---------------------------------------- */

typedef struct { char mode[32]; } resolver;

static sy_status resolver_create(void *context, sy_str config, sy_call *call, void **instance) {
    (void)context;
    if (has(config, "refuse")) {
        host->fail(call, lit("mode: refused on purpose"));
        return SY_ERROR;
    }
    resolver *self = calloc(1, sizeof *self);
    const char *modes[] = {"overlong", "twice", "silent-ok", "bad-utf8", "error", "bad-status", "section", "decline"};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (has(config, modes[i])) strcpy(self->mode, modes[i]);
    *instance = self;
    return SY_OK;
}

static void resolver_destroy(void *instance) { free(instance); }

static sy_status answer(resolver *self, sy_str name, uint32_t port, sy_call *call) {
    char big[400];
    sy_meta meta = {sizeof(sy_meta), SY_META_RESOURCE, lit("fixture.io"), lit("Thing"), lit("ns"), name, {NULL, 0}, port};
    if (strcmp(self->mode, "decline") == 0) return SY_DECLINE;
    if (strcmp(self->mode, "overlong") == 0) {
        memset(big, 'x', sizeof big);
        meta.name = (sy_str){big, sizeof big};
    } else if (strcmp(self->mode, "bad-utf8") == 0) {
        meta.ns = (sy_str){"\xff\xfe", 2};
    } else if (strcmp(self->mode, "section") == 0) {
        meta.section = lit("http");
    } else if (strcmp(self->mode, "error") == 0) {
        host->fail(call, lit("lookup failed"));
        return SY_ERROR;
    } else if (strcmp(self->mode, "silent-ok") == 0) {
        return SY_OK;
    } else if (strcmp(self->mode, "bad-status") == 0) {
        return 42;
    }
    host->answer_meta(call, &meta);
    if (strcmp(self->mode, "twice") == 0) host->answer_meta(call, &meta);
    return SY_OK;
}

static sy_status resolve_service(void *instance, const sy_service_query *query, sy_call *call) {
    return answer(instance, query->host, query->port, call);
}

static sy_status resolve_endpoint(void *instance, const sy_endpoint_query *query, sy_call *call) {
    /* Answer with the value of the first label, to prove labels cross intact. */
    sy_str name = query->label_count > 0
        ? SY_ELEMENT(const sy_label, query->labels, query->label_size, 0)->value : query->host;
    return answer(instance, name, query->port, call);
}

static const FIXTURE_DEF(sy_resolver_def) resolver_def = {{
    FIXTURE_SIZE(sy_resolver_def), IMPL_PREFIX "-resolver", "test fixture", NULL,
    resolver_create, resolver_destroy, resolve_service, resolve_endpoint,
} FUTURE_FIELDS};

/* ---- balancer: behaviour chosen by its config ---------------------------------------- */

typedef struct { int mode; } balancer;

static sy_status balancer_create(void *context, const sy_balancer_params *params, sy_load_model *model,
                                 sy_call *call, void **instance) {
    (void)context;
    if (has(params->config_json, "refuse")) {
        host->fail(call, lit("mode: refused on purpose"));
        return SY_ERROR;
    }
    balancer *self = calloc(1, sizeof *self);
    if (has(params->config_json, "out-of-range")) self->mode = 1;
    if (has(params->config_json, "not-ready")) self->mode = 2;
    if (has(params->config_json, "none")) self->mode = 3;
    if (has(params->config_json, "pick-error")) self->mode = 4;
    if (has(params->config_json, "least-backend")) self->mode = 5;
    model->default_rtt_ns = 5000000; /* 5 ms: proves the model crosses back */
    *instance = self;
    return SY_OK;
}

static void balancer_destroy(void *instance) { free(instance); }

static void balancer_update(void *instance, const sy_endpoint *endpoints, uint32_t count, uint32_t size) {
    (void)instance;
#ifdef SY_NEW_ENDPOINT
    char line[512] = "update previous=";
    for (uint32_t i = 0; i < count && strlen(line) < sizeof line - 16; i++) {
        const sy_endpoint *e = SY_ELEMENT(const sy_endpoint, endpoints, size, i);
        uint32_t previous = SY_ELEMENT_HAS_FIELD(sy_endpoint, size, previous_index) ? e->previous_index : SY_NEW_ENDPOINT;
        char item[16];
        if (previous == SY_NEW_ENDPOINT) snprintf(item, sizeof item, "%s-", i ? "," : "");
        else snprintf(item, sizeof item, "%s%u", i ? "," : "", previous);
        strcat(line, item);
    }
    host->log(host->context, SY_LOG_INFO, lit(line));
#else
    (void)endpoints; (void)count; (void)size;
#endif
}

#ifdef SY_OUTCOME_SIZE_1_1
static void balancer_observe(void *instance, const sy_outcome *o) {
    (void)instance;
    char line[160];
    snprintf(line, sizeof line, "observed endpoint=%u latency_ns=%llu http=%d grpc=%d flags=%u", o->endpoint,
             (unsigned long long)o->latency_ns, o->http_status, o->grpc_status, o->flags);
    host->log(host->context, SY_LOG_INFO, lit(line));
}
#endif

__attribute__((unused)) static int32_t balancer_pick(void *instance, const sy_pick *pick) {
    balancer *self = instance;
    switch (self->mode) {
    case 1: return (int32_t)pick->count + 5;
    case 2:
        for (uint32_t i = 0; i < pick->count; i++)
            if (!SY_ELEMENT(const sy_endpoint_load, pick->loads, pick->load_size, i)->ready) return (int32_t)i;
        return 0;
    case 3: return SY_PICK_NONE;
#ifdef SY_ENDPOINT_LOAD_SIZE_1_1
    case 5: {
        int32_t best = SY_PICK_NONE;
        uint32_t fewest = UINT32_MAX;
        for (uint32_t i = 0; i < pick->count; i++) {
            const sy_endpoint_load *l = SY_ELEMENT(const sy_endpoint_load, pick->loads, pick->load_size, i);
            uint32_t n = SY_ELEMENT_HAS_FIELD(sy_endpoint_load, pick->load_size, backend_in_flight) ? l->backend_in_flight : l->in_flight;
            if (l->ready && n < fewest) { best = (int32_t)i; fewest = n; }
        }
        return best;
    }
#endif
#ifdef SY_PICK_ERROR
    case 4: return SY_PICK_ERROR;
#else
    case 4: return -2; /* the frozen 1.0 header predates the name */
#endif
    default:
#ifdef PICK_LAST
        for (uint32_t i = pick->count; i-- > 0;)
#else
        for (uint32_t i = 0; i < pick->count; i++)
#endif
            if (SY_ELEMENT(const sy_endpoint_load, pick->loads, pick->load_size, i)->ready) return (int32_t)i;
        return SY_PICK_NONE;
    }
}

static const FIXTURE_DEF(sy_balancer_def) balancer_def = {{
    FIXTURE_SIZE(sy_balancer_def),
#ifdef BAD_NAME
    "Fixture Balancer",
#else
    IMPL_PREFIX "-balancer",
#endif
    "test fixture", NULL, balancer_create, balancer_destroy, balancer_update,
#ifdef MISSING_PICK
    NULL,
#else
    balancer_pick,
#endif
#ifdef SY_OUTCOME_SIZE_1_1
    balancer_observe,
#endif
} FUTURE_FIELDS};

static const sy_resolver_def *const resolvers[] = {&resolver_def.def};
#ifdef DUPLICATE_BALANCER
static const sy_balancer_def *const balancers[] = {&balancer_def.def, &balancer_def.def};
#else
static const sy_balancer_def *const balancers[] = {&balancer_def.def};
#endif

__attribute__((unused)) static const FIXTURE_DEF(sy_plugin_descriptor) descriptor = {{
#ifdef SMALL_DESCRIPTOR
    8,
#else
    FIXTURE_SIZE(sy_plugin_descriptor),
#endif
#ifdef WRONG_MAJOR
    2,
#else
    SY_ABI_MAJOR,
#endif
    FIXTURE_MINOR, PLUGIN_NAME, "0.0.1",
    resolvers, 1, sizeof balancers / sizeof *balancers, balancers,
} FUTURE_FIELDS};

#ifdef NO_ENTRY
const sy_plugin_descriptor *switchyard_plugin_entry_v0(const sy_host_services *services) {
#else
const sy_plugin_descriptor *switchyard_plugin_entry_v1(const sy_host_services *services) {
#endif
    host = services;
#ifdef NULL_DESCRIPTOR
    return NULL;
#else
    return &descriptor.def;
#endif
}
