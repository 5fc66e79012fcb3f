/*
 * least-cost: a Switchyard balancer plugin in plain C, written against switchyard_plugin.h
 * alone. It sends each request to the ready endpoint with the lowest peak-EWMA cost (a full
 * scan, unlike p2c's two random samples), breaking ties round-robin so equal endpoints share
 * the load. It takes no config, and refuses any, to show how a refusal reaches the operator.
 *
 * Build it on its own (see README.md), or through SwiftPM as the ExampleCBalancer product.
 */
#include <stdlib.h>
#include <string.h>

#include "switchyard_plugin.h"

/* The host's services, kept from the entry call: valid for the life of the process. */
static const sy_host_services *host;

/* One instance per backend per event loop: only ever touched from that loop's thread. */
typedef struct least_cost {
    uint32_t next_tie; /* where the next tie-break scan starts */
} least_cost;

static int only_whitespace(sy_str text, size_t from) {
    for (size_t i = from; i < text.len; i++) {
        char c = text.ptr[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return 0;
    }
    return 1;
}

/* Accepts "", "{}" or "null" (with any whitespace): least-cost has no settings. */
static int config_is_empty(sy_str config) {
    size_t i = 0;
    while (i < config.len && strchr(" \t\r\n", config.ptr[i]) != NULL) i++;
    if (i == config.len) return 1;
    if (config.len - i >= 4 && memcmp(config.ptr + i, "null", 4) == 0) return only_whitespace(config, i + 4);
    if (config.ptr[i] != '{') return 0;
    i++;
    while (i < config.len && strchr(" \t\r\n", config.ptr[i]) != NULL) i++;
    return i < config.len && config.ptr[i] == '}' && only_whitespace(config, i + 1);
}

static sy_status create(void *context, const sy_balancer_params *params, sy_load_model *model,
                        sy_call *call, void **instance) {
    (void)context;
    (void)model; /* the host's default peak-EWMA parameters suit it */
    if (!config_is_empty(params->config_json)) {
        host->fail(call, SY_STR_LIT("least-cost takes no config; remove the config block"));
        return SY_ERROR;
    }
    least_cost *self = calloc(1, sizeof *self);
    if (self == NULL) {
        host->fail(call, SY_STR_LIT("out of memory"));
        return SY_ERROR;
    }
    self->next_tie = (uint32_t)(params->seed % 1024);
    *instance = self;
    return SY_OK;
}

static void destroy(void *instance) { free(instance); }

static void update(void *instance, const sy_endpoint *endpoints, uint32_t count, uint32_t endpoint_size) {
    (void)endpoints;
    (void)endpoint_size;
    least_cost *self = instance;
    if (count > 0) self->next_tie %= count;
}

static int32_t pick(void *instance, const sy_pick *request) {
    least_cost *self = instance;
    if (request->ready_count == 0) return SY_PICK_NONE;
    int32_t best = SY_PICK_NONE;
    double best_cost = 0;
    /* Scan from the tie-break cursor so that, among equal costs, the first one seen rotates. */
    for (uint32_t step = 0; step < request->count; step++) {
        uint32_t i = (self->next_tie + step) % request->count;
        const sy_endpoint_load *load = SY_ELEMENT(const sy_endpoint_load, request->loads, request->load_size, i);
        if (!load->ready) continue;
        if (best == SY_PICK_NONE || load->cost < best_cost) {
            best = (int32_t)i;
            best_cost = load->cost;
        }
    }
    self->next_tie = (uint32_t)(best + 1) % request->count;
    return best;
}

static const sy_balancer_def least_cost_def = {
    .struct_size = sizeof(sy_balancer_def),
    .name = "least-cost",
    .summary = "lowest peak-EWMA cost over all ready endpoints (C example)",
    .context = NULL,
    .create = create,
    .destroy = destroy,
    .update = update,
    .pick = pick,
};

static const sy_balancer_def *const balancers[] = {&least_cost_def};

static const sy_plugin_descriptor descriptor = {
    .struct_size = sizeof(sy_plugin_descriptor),
    .abi_major = SY_ABI_MAJOR,
    .abi_minor = SY_ABI_MINOR,
    .name = "example-c-balancer",
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
