/*
 * A discovery plugin written against switchyard_plugin.h alone, for the host's ABI 1.2 tests.
 * Its one discovery, "scripted", publishes from its own thread: a valid RESET, then one
 * malformed event per rule the header lists (each must be refused), then a valid ADD (with its
 * own metadata), REMOVE and ERROR, and last a CURRENT whose message counts what the host took
 * and refused. Then it waits, publishing nothing, until destroy stops and joins the thread.
 * A config holding "refuse" is refused. Built with -DNO_START, its def lacks start.
 */
#define _GNU_SOURCE /* memmem */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include "switchyard_plugin.h"

static const sy_host_services *host;

typedef struct scripted {
    sy_discovery_sink *sink;
    pthread_t thread;
    int started;
    atomic_int stop;
} scripted;

static sy_str str(const char *text) { return (sy_str){text, strlen(text)}; }

static sy_discovered_endpoint endpoint(const char *address, uint32_t weight) {
    sy_discovered_endpoint e;
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    e.weight = weight;
    e.address = str(address);
    e.label_size = sizeof(sy_label);
    return e;
}

static sy_discovery_event event(int32_t kind, const sy_discovered_endpoint *endpoints, uint32_t count) {
    sy_discovery_event ev;
    memset(&ev, 0, sizeof ev);
    ev.struct_size = sizeof ev;
    ev.kind = kind;
    ev.endpoints = endpoints;
    ev.endpoint_count = count;
    ev.endpoint_size = sizeof(sy_discovered_endpoint);
    ev.set_label_size = sizeof(sy_label);
    return ev;
}

static void *run(void *arg) {
    scripted *s = arg;
    int accepted = 0, refused = 0;
#define PUBLISH(ev) (host->discovery_publish(s->sink, &(ev)) == SY_OK ? accepted++ : refused++)

    /* 1. A valid RESET: weight 0 reads as 1, set labels go under each endpoint's own. */
    sy_label zone = {str("zone"), str("a")};
    sy_label team = {str("team"), str("x")};
    sy_discovered_endpoint two[2] = {endpoint("127.0.0.1:1001", 0), endpoint("[::1]:1002", 5)};
    two[1].labels = &zone;
    two[1].label_count = 1;
    sy_discovery_event reset = event(SY_DISCOVERY_RESET, two, 2);
    reset.generation = 7;
    reset.set_labels = &team;
    reset.set_label_count = 1;
    PUBLISH(reset);

    /* 2. One malformed event per rule: each refused. */
    sy_discovery_event unknown = event(99, NULL, 0);
    PUBLISH(unknown);
    sy_discovery_event notFoundWithEndpoints = event(SY_DISCOVERY_NOT_FOUND, two, 1);
    PUBLISH(notFoundWithEndpoints);
    sy_discovered_endpoint named = endpoint("web.test:80", 1);
    sy_discovery_event byName = event(SY_DISCOVERY_ADD, &named, 1);
    PUBLISH(byName);
    sy_discovered_endpoint portless = endpoint("127.0.0.1", 1);
    sy_discovery_event noPort = event(SY_DISCOVERY_ADD, &portless, 1);
    PUBLISH(noPort);
    sy_discovered_endpoint twice[2] = {endpoint("127.0.0.1:1001", 1), endpoint("127.0.0.1:1001", 2)};
    sy_discovery_event duplicate = event(SY_DISCOVERY_RESET, twice, 2);
    PUBLISH(duplicate);
    sy_discovered_endpoint spelled[2] = {endpoint("[FD00::1]:80", 1), endpoint("[fd00:0::1]:80", 1)};
    sy_discovery_event sameAddress = event(SY_DISCOVERY_RESET, spelled, 2);
    PUBLISH(sameAddress);
    sy_discovered_endpoint heavy = endpoint("127.0.0.1:1009", SY_WEIGHT_MAX + 1);
    sy_discovery_event tooHeavy = event(SY_DISCOVERY_ADD, &heavy, 1);
    PUBLISH(tooHeavy);
    sy_label emptyKey = {str(""), str("v")};
    sy_discovered_endpoint unkeyed = endpoint("127.0.0.1:1009", 1);
    unkeyed.labels = &emptyKey;
    unkeyed.label_count = 1;
    sy_discovery_event emptyLabel = event(SY_DISCOVERY_ADD, &unkeyed, 1);
    PUBLISH(emptyLabel);
    sy_label sameKey[2] = {{str("k"), str("1")}, {str("k"), str("2")}};
    sy_discovered_endpoint repeated = endpoint("127.0.0.1:1009", 1);
    repeated.labels = sameKey;
    repeated.label_count = 2;
    sy_discovery_event repeatedLabel = event(SY_DISCOVERY_ADD, &repeated, 1);
    PUBLISH(repeatedLabel);
    sy_discovery_event shortEvent = event(SY_DISCOVERY_CURRENT, NULL, 0);
    shortEvent.struct_size = 32;
    PUBLISH(shortEvent);
    sy_discovered_endpoint one = endpoint("127.0.0.1:1009", 1);
    sy_discovery_event shortElements = event(SY_DISCOVERY_ADD, &one, 1);
    shortElements.endpoint_size = 16;
    PUBLISH(shortElements);
    sy_discovery_event silentError = event(SY_DISCOVERY_ERROR, NULL, 0);
    PUBLISH(silentError);
    sy_discovery_event controlMessage = event(SY_DISCOVERY_ERROR, NULL, 0);
    controlMessage.message = str("down\nINFO forged log line");
    PUBLISH(controlMessage);
    sy_discovery_event nullEndpoints = event(SY_DISCOVERY_RESET, NULL, 2);
    PUBLISH(nullEndpoints);
    sy_meta nameless;
    memset(&nameless, 0, sizeof nameless);
    nameless.struct_size = sizeof nameless;
    nameless.type = SY_META_RESOURCE;
    nameless.kind = str("Pod");
    sy_discovered_endpoint badMeta = endpoint("127.0.0.1:1009", 1);
    badMeta.meta = &nameless;
    sy_discovery_event invalidMeta = event(SY_DISCOVERY_ADD, &badMeta, 1);
    PUBLISH(invalidMeta);

    /* 3. Valid ADD (with the discovery's own metadata), REMOVE and ERROR. */
    sy_meta pod;
    memset(&pod, 0, sizeof pod);
    pod.struct_size = sizeof pod;
    pod.type = SY_META_RESOURCE;
    pod.group = str("core");
    pod.kind = str("Pod");
    pod.ns = str("test");
    pod.name = str("web-3");
    pod.section = (sy_str){NULL, 0};
    sy_discovered_endpoint third = endpoint("127.0.0.1:1003", 2);
    third.meta = &pod;
    sy_discovery_event add = event(SY_DISCOVERY_ADD, &third, 1);
    add.generation = 8;
    PUBLISH(add);
    sy_discovered_endpoint first = endpoint("127.0.0.1:1001", 0);
    sy_discovery_event removal = event(SY_DISCOVERY_REMOVE, &first, 1);
    removal.generation = 9;
    PUBLISH(removal);
    sy_discovery_event failure = event(SY_DISCOVERY_ERROR, NULL, 0);
    failure.message = str("source down");
    PUBLISH(failure);

    /* 4. The tally. */
    char tally[64];
    snprintf(tally, sizeof tally, "accepted=%d refused=%d", accepted, refused);
    sy_discovery_event current = event(SY_DISCOVERY_CURRENT, NULL, 0);
    current.message = str(tally);
    host->discovery_publish(s->sink, &current);

    while (!atomic_load(&s->stop)) usleep(1000);
    return NULL;
}

static sy_status create(void *context, const sy_discovery_params *params, sy_call *call, void **instance) {
    (void)context;
    if (!SY_HAS_FIELD(sy_host_services, host, discovery_publish)) {
        host->fail(call, SY_STR_LIT("host older than ABI 1.2"));
        return SY_ERROR;
    }
    if (memmem(params->config_json.ptr, params->config_json.len, "refuse", 6)) {
        host->fail(call, SY_STR_LIT("refused as asked"));
        return SY_ERROR;
    }
    scripted *s = calloc(1, sizeof *s);
    *instance = s;
    return SY_OK;
}

__attribute__((unused)) static void start(void *instance, sy_discovery_sink *sink) {
    scripted *s = instance;
    s->sink = sink;
    s->started = pthread_create(&s->thread, NULL, run, s) == 0;
}

static void destroy(void *instance) {
    scripted *s = instance;
    atomic_store(&s->stop, 1);
    if (s->started) pthread_join(s->thread, NULL);
    free(s);
}

static const sy_discovery_def scripted_def = {
    .struct_size = sizeof(sy_discovery_def),
    .name = "scripted",
    .summary = "publishes a fixed script of valid and malformed events",
    .create = create,
#ifndef NO_START
    .start = start,
#endif
    .destroy = destroy,
};
static const sy_discovery_def *const discoveries[] = {&scripted_def};

static const sy_plugin_descriptor descriptor = {
    .struct_size = sizeof(sy_plugin_descriptor),
    .abi_major = SY_ABI_MAJOR,
    .abi_minor = SY_ABI_MINOR,
    .name = "fixture-discovery",
    .version = "1.0.0",
    .discoveries = discoveries,
    .discovery_count = 1,
};

SY_EXPORT const sy_plugin_descriptor *switchyard_plugin_entry_v1(const sy_host_services *services) {
    host = services;
    return &descriptor;
}
