/*
 * switchyard_plugin.h: the Switchyard policy-plugin ABI, version 1.2.
 *
 * A Switchyard plugin is a shared object that the proxy loads at startup. It exports one
 * function, switchyard_plugin_entry_v1, which hands the proxy a table of named metadata
 * *resolvers* (which Kubernetes-style resource a service, backend or endpoint is), load
 * *balancers* (which endpoint gets the next request) and, since 1.2, endpoint *discoveries*
 * (where a backend's endpoints are: DNS, a file, etcd). Configuration refers to them by name.
 * This header is the whole contract: a plugin written in C against it alone, built with
 *
 *     cc $(switchyard plugins cflags) -shared -fPIC -O2 -o libmine.so mine.c
 *
 * must work (`switchyard plugins cflags` prints -I<the folder holding this header>: the
 * installed copy under PREFIX/include/switchyard, or the source tree's; pkg-config's
 * `switchyard-plugin` says the same). `switchyard plugins test libmine.so --balancer NAME`
 * then runs the plugin through the host's checks over generated situations. Swift authors use the SwitchyardPluginKit module instead, which implements
 * every rule below for them.
 *
 * ------------------------------------------------------------------------------------------
 * 1. Versioning
 * ------------------------------------------------------------------------------------------
 * - The ABI has a major and a minor version (SY_ABI_MAJOR, SY_ABI_MINOR). Each major version
 *   has its own entry symbol; this header defines major 1 (SY_ENTRY_SYMBOL_V1).
 * - The host refuses a plugin whose descriptor names a different major version, with a
 *   message that names both versions and asks for a rebuild against the host's header.
 * - Minor versions only append fields to the end of structs. Every struct that crosses the
 *   boundary starts with `struct_size`, set by whoever fills the struct to sizeof() of the
 *   struct as *it* was compiled. The reader uses only the fields that struct_size covers, so
 *   a plugin built against an older minor keeps loading in a newer host, and a newer plugin
 *   reads only the fields an older host provided. Fields are never removed or reordered.
 * - SY_<STRUCT>_SIZE_1_0 (below, before the entry function) is each struct's size as ABI 1.0
 *   defined it. A reader refuses a struct_size smaller than that and accepts any larger one;
 *   a field added by a later minor is read only where SY_HAS_FIELD says struct_size covers it.
 *   A later minor adds its own SY_<STRUCT>_SIZE_1_<minor> beside these, which never change.
 * - Fields named `reserved` are set to zero by whoever fills the struct and ignored by the
 *   reader (a later minor may give them a meaning only where zero keeps the old one).
 * - Arrays of structs crossing the boundary are described by a pointer, a count and an
 *   element size (`*_size`); step through them with the element size, never with sizeof()
 *   (the SY_ELEMENT helper below does it).
 *
 * ------------------------------------------------------------------------------------------
 * 2. Memory and strings
 * ------------------------------------------------------------------------------------------
 * - Strings cross as sy_str: a borrowed (pointer, length) pair, UTF-8, *not* NUL-terminated.
 *   A string handed to a hook is valid only until that hook returns: copy what you keep.
 * - The only NUL-terminated strings are the static names and summaries in descriptors.
 * - Answers go back through the host services (sy_host_services.answer_meta and .fail),
 *   which copy what they are given before returning; a plugin may pass stack memory.
 * - Each side frees only what it allocated. Instances are allocated by the plugin's `create`
 *   and freed by its `destroy`; the host never frees plugin memory and vice versa.
 * - Descriptors and definition tables returned by the entry function are owned by the plugin
 *   and must stay valid and unchanged for the life of the process.
 *
 * ------------------------------------------------------------------------------------------
 * 3. Loading and lifetime
 * ------------------------------------------------------------------------------------------
 * - The host opens a plugin with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) and never
 *   unloads it. Swift plugins must also link with `-z nodelete`, and should export only the
 *   entry symbol (a linker version script). Plugins need no symbols from the host: every host
 *   function reaches them through sy_host_services.
 * - The entry function is called once per file, on the loading thread, before any other call.
 *   Loading the same unchanged file again is a no-op. Two plugins with the same name, or two
 *   implementations (of the same kind) with the same name in one configuration, are refused.
 * - Upgrades: when a config reload (SIGHUP) finds a plugin file changed on disk (another inode,
 *   size or modification time), the host loads it as a new *generation*: from a private copy
 *   (the dynamic linker would return the old mapping for the same path), with its own entry
 *   call, host services table and instances. The new configuration uses only the new
 *   generation; requests the old configuration routed finish on the old code, whose instances
 *   are then destroyed. No generation is ever unmapped. So static state is per generation, and
 *   two generations of one plugin run side by side only while a reload drains. A generation
 *   that fails to load leaves the running one serving. Replace a plugin file by renaming a new
 *   file over it (as cc, install and mv do), never by writing into it: the first generation is
 *   mapped from the file itself.
 *
 * ------------------------------------------------------------------------------------------
 * 4. Threads
 * ------------------------------------------------------------------------------------------
 * - Resolver instances are shared: their resolve hooks may be called concurrently from any
 *   thread and must be thread-safe. `create` and `destroy` are never concurrent with any
 *   other call on the same instance.
 * - Balancer instances are per backend *per event loop*: calls on one balancer instance are
 *   serialized, never concurrent, so a balancer needs no locks. create, update, pick and
 *   observe come from its event loop's thread; destroy may come from another thread (at shutdown, or when
 *   a reload retires the instance), after every other call has returned. Different instances
 *   are called concurrently from different threads, so a balancer must not share mutable
 *   state between instances.
 * - Host services may be called from any thread at any time, except answer_meta and fail,
 *   which are valid only inside the hook that received the sy_call, on that hook's thread.
 * - Discovery instances (1.2) run their own thread: `create` and `destroy` come from the thread
 *   that loads the config, never an event loop; `start` returns at once, and from then on the
 *   plugin's own thread publishes events through sy_host_services.discovery_publish, which
 *   may be called from any thread until `destroy` returns.
 * - Balancer hooks must not block: they run on the proxy's event loops, and `pick` and
 *   `observe` run per request. Resolver hooks run on the thread that loads the config (at
 *   startup and on each reload) and, for endpoints a discovery reports, on the discovery's
 *   thread inside its publish; never on an event loop and never per request. A slow resolver
 *   slows only the load (or the discovery), which waits for it.
 *
 * ------------------------------------------------------------------------------------------
 * 5. Trust
 * ------------------------------------------------------------------------------------------
 * Plugins run in-process with full privilege, yet the host checks every answer: a pick index
 * out of range or not ready, an over-long or malformed metadata field, a status code outside
 * the ones defined here, an answer missing or given twice. Each is a *plugin fault*: logged
 * once with the plugin's name, counted in a metric, and answered safely (a bad resolver
 * answer counts as "not mine", a bad pick as the first ready endpoint).
 */
#ifndef SWITCHYARD_PLUGIN_H
#define SWITCHYARD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================================== */
/* Versions, symbols, limits                                                                */
/* ======================================================================================== */

/* Minor versions so far:
 *   1.0  the first release.
 *   1.1  sy_balancer_def.observe and sy_outcome (closed-loop balancers),
 *        sy_endpoint.previous_index (per-endpoint state across updates),
 *        sy_endpoint_load.backend_in_flight (in flight on every event loop).
 *   1.2  discoveries: sy_discovery_def and its params, events and endpoints,
 *        sy_host_services.discovery_publish, sy_plugin_descriptor.discoveries.
 */
/** Major version of this ABI. A plugin with another major is refused. */
#define SY_ABI_MAJOR 1
/** Minor version of this ABI. Minors only append struct fields. */
#define SY_ABI_MINOR 2
/** Name of the entry function of ABI major 1 (see switchyard_plugin_entry_v1 below). */
#define SY_ENTRY_SYMBOL_V1 "switchyard_plugin_entry_v1"

/** Longest plugin, resolver or balancer name, in bytes, not counting the terminating NUL. Names use [a-z0-9._-], start with a letter or digit. */
#define SY_NAME_MAX 64
/** Longest plugin version or implementation summary, in bytes. */
#define SY_SUMMARY_MAX 200
/** Longest metadata field (group, kind, namespace, name, section), in bytes. */
#define SY_META_FIELD_MAX 253
/** Longest message passed to fail() or log(); longer ones are cut (log) or a fault (fail). */
#define SY_MESSAGE_MAX 1024

/* ======================================================================================== */
/* Basic types                                                                              */
/* ======================================================================================== */

/**
 * A borrowed UTF-8 string: `len` bytes at `ptr`, not NUL-terminated.
 * `ptr` may be NULL only when `len` is 0. Where a field documents it, ptr == NULL means
 * "absent", as opposed to the empty string (ptr != NULL, len == 0).
 */
typedef struct sy_str {
    /** First byte; valid for the duration of the call that handed the string over. */
    const char *ptr;
    /** Number of bytes. */
    size_t len;
} sy_str;

/**
 * Status returned by every fallible hook. Any other value is a plugin fault.
 */
typedef int32_t sy_status;
/** Success; for resolve hooks: the resolver answered through answer_meta(). */
#define SY_OK 0
/** Resolve hooks only: "not mine", let the next resolver in the chain answer. */
#define SY_DECLINE 1
/** Failure; the plugin called fail() with a message saying why. */
#define SY_ERROR 2

/**
 * Log level for sy_host_services.log, the same ladder as swift-log.
 */
typedef int32_t sy_log_level;
#define SY_LOG_TRACE 0    /**< Finest detail, off by default. */
#define SY_LOG_DEBUG 1    /**< Diagnostic detail. */
#define SY_LOG_INFO 2     /**< A notable, expected event. */
#define SY_LOG_NOTICE 3   /**< A notable event an operator may act on. */
#define SY_LOG_WARNING 4  /**< Something unexpected that was handled. */
#define SY_LOG_ERROR 5    /**< Something failed. */
#define SY_LOG_CRITICAL 6 /**< The plugin cannot go on working. */

/**
 * An opaque, host-owned handle for one hook invocation. It identifies where answer_meta()
 * and fail() deliver their payload. Valid only until the hook that received it returns.
 */
typedef struct sy_call sy_call;

/**
 * Steps to element `index` of a boundary array whose elements are `element_size` bytes,
 * e.g. `const sy_endpoint_load *l = SY_ELEMENT(const sy_endpoint_load, p->loads, p->load_size, i);`
 */
#define SY_ELEMENT(type, base, element_size, index) \
    ((type *)((const char *)(base) + (size_t)(element_size) * (size_t)(index)))

#ifndef __cplusplus
/** A sy_str of a string literal, without strlen: `host->fail(call, SY_STR_LIT("bad config"));`. */
#define SY_STR_LIT(literal) ((sy_str){(literal), sizeof(literal) - 1})
#endif

/**
 * Exports a definition with default visibility, for builds that hide symbols by default
 * (`-fvisibility=hidden`): put it before switchyard_plugin_entry_v1's definition.
 */
#define SY_EXPORT __attribute__((visibility("default")))

/* ======================================================================================== */
/* Metadata                                                                                  */
/* ======================================================================================== */

/** sy_meta.type: a Default(name) meta; only `name` is read. */
#define SY_META_DEFAULT 0
/** sy_meta.type: a Resource(group, kind, namespace, name, section?, port?) meta. */
#define SY_META_RESOURCE 1

/**
 * A metadata answer: what a resolver says a service, backend or endpoint is (DESIGN.md §4).
 * Filled by the plugin, passed to answer_meta(), copied by the host at once.
 *
 * The host validates it: `name` must be non-empty; for a Resource, `kind` must be non-empty;
 * every field at most SY_META_FIELD_MAX bytes of valid UTF-8 without control characters;
 * `port` at most 65535. Anything else is a plugin fault.
 */
typedef struct sy_meta {
    /** sizeof(sy_meta) as the plugin was compiled. */
    uint32_t struct_size;
    /** SY_META_DEFAULT or SY_META_RESOURCE. */
    int32_t type;
    /** API group, e.g. "core" or "policy.linkerd.io"; may be empty. Resource only. */
    sy_str group;
    /** Resource kind, e.g. "Service", "Pod". Resource only, non-empty. */
    sy_str kind;
    /** Namespace, e.g. "prod"; may be empty. Resource only. */
    sy_str ns;
    /** Name of the resource, or of the Default. Non-empty. */
    sy_str name;
    /** Section name (e.g. a named port); ptr == NULL means absent. Resource only. */
    sy_str section;
    /** Port, 1-65535, or 0 for absent. Resource only. */
    uint32_t port;
} sy_meta;

/**
 * A label attached to an endpoint in config, e.g. `dst_pod: web-0`.
 */
typedef struct sy_label {
    /** Label key. */
    sy_str key;
    /** Label value. */
    sy_str value;
} sy_label;

/**
 * What a service resolver is asked about: the authority of a parent (service) or backend.
 */
typedef struct sy_service_query {
    /** sizeof(sy_service_query) as the host was compiled. */
    uint32_t struct_size;
    /** Port of the authority, 1-65535 (the host fills in 80 when the authority has none). */
    uint32_t port;
    /** The authority as configured, e.g. "web.prod.svc.cluster.local:80". */
    sy_str authority;
    /** Its host part, without port or IPv6 brackets, e.g. "web.prod.svc.cluster.local". */
    sy_str host;
} sy_service_query;

/**
 * What an endpoint resolver is asked about: one endpoint of a backend.
 */
typedef struct sy_endpoint_query {
    /** sizeof(sy_endpoint_query) as the host was compiled. */
    uint32_t struct_size;
    /** Port of the endpoint address, 1-65535. */
    uint32_t port;
    /** The address as configured, e.g. "127.0.0.1:18081" or "[::1]:18081". */
    sy_str address;
    /** The address's host part, without port or brackets, e.g. "127.0.0.1". */
    sy_str host;
    /** The endpoint's labels, in config order; keys are unique. NULL when label_count is 0. */
    const sy_label *labels;
    /** Number of labels. */
    uint32_t label_count;
    /** Size of one element of `labels`, in bytes (step with SY_ELEMENT). */
    uint32_t label_size;
} sy_endpoint_query;

/* ======================================================================================== */
/* Host services: the only way a plugin calls into the proxy                                */
/* ======================================================================================== */

/** An opaque, host-owned handle for one discovery instance's output (ABI 1.2). */
typedef struct sy_discovery_sink sy_discovery_sink;
/** A discovery event (ABI 1.2), defined with the discoveries below. */
typedef struct sy_discovery_event sy_discovery_event;

/**
 * Functions the host gives each plugin at entry. One table per plugin file; the pointer stays
 * valid for the life of the process, so a plugin may keep it in a static variable.
 */
typedef struct sy_host_services {
    /** sizeof(sy_host_services) as the host was compiled. */
    uint32_t struct_size;
    /** The host's ABI major version (SY_ABI_MAJOR it was built with). */
    uint16_t abi_major;
    /** The host's ABI minor version. */
    uint16_t abi_minor;
    /** Opaque host state; pass it back as the first argument of log() and random(). */
    void *context;
    /**
     * Writes one log line at `level`, tagged with the plugin's name. `message` over
     * SY_MESSAGE_MAX bytes is cut. Thread-safe, never blocks on I/O for long.
     */
    void (*log)(void *context, sy_log_level level, sy_str message);
    /**
     * Returns 64 uniformly random bits from a cryptographically seeded generator.
     * Thread-safe. Balancers should prefer the per-instance seed (sy_balancer_params.seed)
     * and a cheap generator of their own on the per-request path.
     */
    uint64_t (*random)(void *context);
    /**
     * Reports why the hook that received `call` failed. The host copies `message` (at most
     * SY_MESSAGE_MAX bytes) and shows it with the config path that caused it. Call it once,
     * then return SY_ERROR.
     */
    void (*fail)(sy_call *call, sy_str message);
    /**
     * Delivers a resolver's answer for the hook that received `call`. The host copies and
     * validates `meta` at once. Call it exactly once, then return SY_OK.
     */
    void (*answer_meta)(sy_call *call, const sy_meta *meta);
    /* ---- ABI 1.2 (call it only when SY_HAS_FIELD(sy_host_services, host, discovery_publish)) ---- */
    /**
     * Publishes a discovery event (see "Discoveries" below) to the backend `sink` feeds.
     * Callable from any thread, from the moment `start` receives the sink until `destroy`
     * returns; calls for one sink should come from one thread at a time (they are serialized
     * by the host either way). The host copies and validates the whole event before it
     * returns, so the plugin may pass stack memory. Returns SY_OK when the event was taken; a
     * malformed event (see sy_discovery_event) is a plugin fault: logged with the reason,
     * counted, refused with SY_ERROR, and the backend keeps its last good set.
     */
    sy_status (*discovery_publish)(sy_discovery_sink *sink, const sy_discovery_event *event);
} sy_host_services;

/* ======================================================================================== */
/* Resolvers                                                                                */
/* ======================================================================================== */

/**
 * A named metadata resolver. A resolver answers for services (parents and backends, by
 * authority), for endpoints (by address and labels), or both; the hook for a kind it does not
 * handle is NULL, and configuring it in a chain of that kind is a config error.
 *
 * Instances are created from the bytes of their config block and shared by every thread.
 */
typedef struct sy_resolver_def {
    /** sizeof(sy_resolver_def) as the plugin was compiled. */
    uint32_t struct_size;
    /** Name used in config, e.g. "k8s-service-name" (see SY_NAME_MAX). NUL-terminated, static. */
    const char *name;
    /** One line saying what it answers, shown by `switchyard plugins inspect`. NUL-terminated, static; may be NULL. */
    const char *summary;
    /** Opaque plugin data passed back to create(); may be NULL. */
    void *context;
    /**
     * Creates an instance from `config_json`: the UTF-8 JSON text of the resolver's config
     * block in its chain entry (`{ name, config }`; "{}" when there is none). On success stores the instance in *instance and returns
     * SY_OK; to refuse the config, calls host->fail(call, why) and returns SY_ERROR.
     * Required.
     */
    sy_status (*create)(void *context, sy_str config_json, sy_call *call, void **instance);
    /** Frees an instance made by create(). No other call on it runs or follows. Required. */
    void (*destroy)(void *instance);
    /**
     * Resolves a service authority. Answers with host->answer_meta(call, &meta) and returns
     * SY_OK, or returns SY_DECLINE ("not mine"), or calls fail() and returns SY_ERROR (counted
     * as a fault, then treated as not mine). Thread-safe. NULL: not a service resolver.
     */
    sy_status (*resolve_service)(void *instance, const sy_service_query *query, sy_call *call);
    /**
     * Resolves an endpoint, with the same contract as resolve_service. NULL: not an endpoint
     * resolver. At least one of resolve_service and resolve_endpoint must be set.
     */
    sy_status (*resolve_endpoint)(void *instance, const sy_endpoint_query *query, sy_call *call);
} sy_resolver_def;

/* ======================================================================================== */
/* Balancers                                                                                */
/* ======================================================================================== */

/**
 * What a balancer instance is created with.
 */
typedef struct sy_balancer_params {
    /** sizeof(sy_balancer_params) as the host was compiled. */
    uint32_t struct_size;
    /** Index of the event loop this instance serves, 0-based. */
    uint32_t loop_index;
    /**
     * UTF-8 JSON text of the balancer's config block ("{}" when there is none). The YAML block
     * becomes JSON this way: a mapping an object (key order kept), a sequence an array, a
     * plain integer or finite number a JSON number, true/false a boolean, null or ~ null, and
     * everything else a string: durations such as `250ms` arrive as strings, and so does any
     * quoted scalar ("3" is the string "3").
     */
    sy_str config_json;
    /** A random seed for this instance; equal seeds must give equal pick sequences. */
    uint64_t seed;
} sy_balancer_params;

/**
 * How the host should model load for this balancer: the parameters of the per-endpoint
 * peak-EWMA RTT estimate behind sy_endpoint_load.cost (DESIGN.md §5). The host fills in its
 * defaults before create(); a balancer that reads its own (e.g. from `defaultRtt` and `decay`
 * in its config) overwrites them. Balancers that ignore cost may leave them alone.
 */
typedef struct sy_load_model {
    /** sizeof(sy_load_model) as the host was compiled. */
    uint32_t struct_size;
    /** Reserved, zero. */
    uint32_t reserved;
    /** RTT estimate of an endpoint that has no sample yet, in nanoseconds (> 0; default 30 ms).
     *  It prices the endpoint from its first request until that request's response comes. */
    uint64_t default_rtt_ns;
    /** Decay time constant of the estimate, in nanoseconds (> 0; default 10 s). */
    uint64_t decay_ns;
} sy_load_model;

/**
 * One endpoint as the balancer learns it through update().
 */
typedef struct sy_endpoint {
    /** sizeof(sy_endpoint) as the host was compiled. */
    uint32_t struct_size;
    /** Relative weight from config, >= 1 (default 1). */
    uint32_t weight;
    /** The endpoint's address, e.g. "127.0.0.1:18081": its identity, stable across updates. */
    sy_str address;
    /* ---- ABI 1.1 ---- */
    /**
     * Where this address was in the instance's previous update(): its index there, or
     * SY_NEW_ENDPOINT when the address is new (every endpoint of the first update is new).
     * A balancer that keeps per-endpoint state (error rates, slow-start ramps) carries it
     * across an update by this index, without comparing strings: state at old index
     * previous_index belongs to new index i. Addresses are unique within one update. A reload
     * of the config makes new instances, so their state starts over (as the host's peak-EWMA
     * does); only updates within one instance's life carry it.
     */
    uint32_t previous_index;
    /** Reserved, zero. */
    uint32_t reserved;
} sy_endpoint;

/** sy_endpoint.previous_index of an address the previous update() did not have. */
#define SY_NEW_ENDPOINT UINT32_MAX

/**
 * The load of one endpoint at pick time. Element i describes endpoint i of the last update().
 * Kept compact: pick() reads these per request.
 */
typedef struct sy_endpoint_load {
    /** 1 when the endpoint may take a request now (its breaker is closed), else 0. */
    uint32_t ready;
    /** Relative weight, as in sy_endpoint. */
    uint32_t weight;
    /** Requests this event loop dispatched to the endpoint whose response has not ended yet.
     *  Per event loop, as the balancer instance is: another loop's requests are not counted. */
    uint32_t in_flight;
    /** Reserved, zero. */
    uint32_t reserved;
    /**
     * Peak-EWMA cost: estimated RTT in nanoseconds x (in_flight + 1). Lower is better. Per
     * event loop: the RTT samples are this loop's responses. 0 for an endpoint this loop has
     * not yet sent a request, so a cost-driven balancer tries every new endpoint once
     * (DESIGN.md §5).
     */
    double cost;
    /* ---- ABI 1.1 (read it only when sy_pick.load_size covers it) ---- */
    /**
     * Requests every event loop dispatched to the endpoint whose response has not ended yet:
     * the backend-wide count a least-connections balancer wants. With more than one event
     * loop the host refreshes it for every endpoint before each pick (one relaxed atomic load
     * each, from counters the loops share), so another loop's last change may be a moment old;
     * with one event loop it equals in_flight. Like in_flight, it does not count requests of a
     * table a reload replaced that are still finishing.
     */
    uint32_t backend_in_flight;
    /** Reserved, zero. */
    uint32_t reserved2;
} sy_endpoint_load;

/**
 * One pick: the load of every endpoint of the last update(), and the request's hash.
 */
typedef struct sy_pick {
    /** sizeof(sy_pick) as the host was compiled. */
    uint32_t struct_size;
    /** Number of elements in `loads`; equals the count of the last update(). */
    uint32_t count;
    /** How many of them have ready == 1 (0 means the pick must answer SY_PICK_NONE). */
    uint32_t ready_count;
    /** Size of one element of `loads`, in bytes (step with SY_ELEMENT). */
    uint32_t load_size;
    /** The loads, in update() order. NULL when count is 0. */
    const sy_endpoint_load *loads;
    /** 1 when `hash` holds a request hash (the backend has a hashPolicy and it applied), else 0. */
    uint32_t has_hash;
    /** Reserved, zero. */
    uint32_t reserved;
    /**
     * 64-bit hash the host computed from the backend's hashPolicy; 0 when has_hash is 0. It is
     * the same in every process, host version and replica (consistent hashing across replicas
     * relies on it): FNV-1a 64 over the UTF-8 bytes of the header value (offset basis
     * 0xcbf29ce484222325, prime 0x100000001b3), then the SplitMix64 finaliser
     * (z += 0x9e3779b97f4a7c15; z = (z ^ z>>30) * 0xbf58476d1ce4e5b9;
     * z = (z ^ z>>27) * 0x94d049bb133111eb; z ^= z>>31).
     */
    uint64_t hash;
} sy_pick;

/** pick(): no endpoint can take the request. Only when ready_count is 0 (the host does not
 *  even ask then); answered while endpoints are ready, it is a fault. */
#define SY_PICK_NONE (-1)
/** pick(): the pick failed (a plugin's own error). A fault: counted, and the host answers with
 *  the first ready endpoint. Every other negative value means the same. Never return a
 *  sy_status (SY_OK, SY_ERROR, ...) from pick: those are small non-negative numbers and would
 *  read as endpoint indexes. */
#define SY_PICK_ERROR (-2)

/** sy_outcome.flags: the endpoint could not be reached; no request went out. */
#define SY_OUTCOME_CONNECT_FAILURE (1u << 0)
/** sy_outcome.flags: the client's doing, not the endpoint's: before the response ended the
 *  client went away or reset its stream, stalled its request body, stopped reading, or its own
 *  deadline (grpc-timeout) ran out. */
#define SY_OUTCOME_CANCEL (1u << 1)
/** sy_outcome.flags: this request was the endpoint's failure-accrual probe (its breaker was
 *  half-open and let this one request through). */
#define SY_OUTCOME_PROBE (1u << 2)
/** sy_outcome.flags: the endpoint was late: a route timeout (request, response or idle) ran
 *  out while it had the whole request and the client was reading (what the host's breaker
 *  counts as a failure). */
#define SY_OUTCOME_TIMEOUT (1u << 3)
/** sy_outcome.flags: the upstream closed its connection, reset its stream or broke the
 *  protocol before the response ended. */
#define SY_OUTCOME_RESET (1u << 4)

/**
 * How one dispatched request ended, as observe() hears it (ABI 1.1). Filled by the host on
 * its stack: valid only during the call.
 */
typedef struct sy_outcome {
    /** sizeof(sy_outcome) as the host was compiled. */
    uint32_t struct_size;
    /** Index of the endpoint in the last update() (the index pick() returned). */
    uint32_t endpoint;
    /** Nanoseconds from the moment the endpoint took the request (pick, or leaving the queue)
     *  to its end: the last response byte, or the failure. */
    uint64_t latency_ns;
    /** The upstream's HTTP status (for gRPC, the HTTP/2 :status, normally 200); 0 when no
     *  response head came (a connect failure, a reset or timeout before the head). */
    int32_t http_status;
    /** The gRPC status (0 OK ... 16), from the trailers or a trailers-only response; any other
     *  code an upstream sent reads as 2 (UNKNOWN), as gRPC clients read it. -1 when the request
     *  is not gRPC or no status came. */
    int32_t grpc_status;
    /** SY_OUTCOME_* bits; 0 for a response that ended normally. */
    uint32_t flags;
    /** Reserved, zero. */
    uint32_t reserved;
} sy_outcome;

/**
 * A named load balancer. The host makes one instance per backend per event loop.
 */
typedef struct sy_balancer_def {
    /** sizeof(sy_balancer_def) as the plugin was compiled. */
    uint32_t struct_size;
    /** Name used in config, e.g. "p2c-peak-ewma" (see SY_NAME_MAX). NUL-terminated, static. */
    const char *name;
    /** One line saying how it picks, shown by `switchyard plugins inspect`. NUL-terminated, static; may be NULL. */
    const char *summary;
    /** Opaque plugin data passed back to create(); may be NULL. */
    void *context;
    /**
     * Creates an instance. `model` holds the host's load-model defaults and may be
     * overwritten. On success stores a non-NULL instance in *instance and returns SY_OK (SY_OK
     * with NULL is a fault, and the config counts as refused); to refuse the config, calls
     * host->fail(call, why) and returns SY_ERROR (any status but SY_OK is a refusal). When a
     * config loads, the host first makes one *validation instance* (loop_index 0, seed 0),
     * never calls update or pick on it, and destroys it at once, so refusals surface before
     * traffic; the instances that serve come after. Required.
     */
    sy_status (*create)(void *context, const sy_balancer_params *params, sy_load_model *model,
                        sy_call *call, void **instance);
    /** Frees an instance made by create(). Required. */
    void (*destroy)(void *instance);
    /**
     * Replaces the instance's endpoint set. Called once after create() (possibly with count 0)
     * and again whenever endpoints change. `endpoints` is valid only during the call: copy the
     * addresses you keep. Required.
     */
    void (*update)(void *instance, const sy_endpoint *endpoints, uint32_t count, uint32_t endpoint_size);
    /**
     * Chooses an endpoint for one request: returns an index i < pick->count whose load has
     * ready == 1 (the host calls pick only while ready_count > 0). SY_PICK_ERROR (or any
     * negative value but SY_PICK_NONE) reports a failed pick. Anything but a ready index is a
     * fault, SY_PICK_NONE while endpoints are ready included: counted, and answered with the
     * first ready endpoint. Runs per request: no allocation, no locks, no blocking. Required.
     */
    int32_t (*pick)(void *instance, const sy_pick *pick);
    /* ---- ABI 1.1 ---- */
    /**
     * Hears how a request this instance picked an endpoint for ended: once per request the
     * endpoint took (including one that never connected), on the instance's event loop, after
     * the response's last byte or the failure, while the request still counts in in_flight.
     * Not called for a request answered before an endpoint took it (no ready endpoint, load
     * shedding), nor for one the proxy itself could not send (a header it refuses to write),
     * nor for a pick the host discards: when the chosen endpoint's breaker refuses it (another
     * event loop holds its probe), the host marks the endpoint not ready and calls pick again,
     * and only the request's final endpoint hears an outcome. `outcome->endpoint` indexes the
     * last update(). Runs per request: no allocation, no locks, no blocking. The host batches
     * nothing and calls nothing else for it. NULL: the balancer does not observe.
     */
    void (*observe)(void *instance, const sy_outcome *outcome);
} sy_balancer_def;

/* ======================================================================================== */
/* Discoveries (ABI 1.2)                                                                    */
/* ======================================================================================== */

/*
 * A discovery tells the host where one backend's endpoints are, and keeps telling it as they
 * change: the backend's config names it instead of listing `endpoints` (DESIGN.md §12). The
 * host makes one instance per backend that names it, and keeps the instance (and its set)
 * across a reload that keeps the backend (its authority and metadata), its whole `discovery`
 * block and the plugin file; otherwise the reload makes a new instance, waits for its first
 * set (or the backend's `initialFetchTimeout`) before serving it, then destroys the old one.
 *
 * Lifecycle: create() validates the config and makes the instance without any I/O (`switchyard
 * check` calls create, then destroy); start() hands it a sink and returns at once, the plugin
 * having started its own thread; that thread publishes events with
 * sy_host_services.discovery_publish; destroy() stops the thread and returns only once nothing
 * can touch the sink any more. create and destroy run on a host thread that is never an event
 * loop (the one loading the config, or the one stopping the proxy), so destroy may block while
 * the plugin's thread winds down (a second or two at most: bound every wait). Never publish
 * after destroy returned: the sink is gone.
 *
 * Events: the first event after start, and the first after the plugin reconnected to its
 * source, is SY_DISCOVERY_RESET (or NOT_FOUND, or ERROR): the whole set. Later changes may be
 * ADD and REMOVE deltas or another RESET. The host validates each event whole and applies it
 * whole, or refuses it (a plugin fault) and keeps the set it had.
 *
 * Failure semantics (the host's, not the plugin's): after ERROR the backend keeps serving its
 * last good set (as Envoy, Linkerd and nginx do), until the backend's `staleAfter` passes
 * without a RESET, ADD, REMOVE or CURRENT: then the set stops serving (the backend has no
 * endpoints) but is kept, and the next answer brings it back (a CURRENT as it was, a delta
 * applied to it). NOT_FOUND and an empty RESET empty the set at once: requests queue, then
 * fail as with no ready endpoint. After any ERROR, publish the whole set (RESET) once the
 * source answers again, even when it did not change: the host cannot tell what it missed.
 */

/** sy_discovery_event.kind: the whole set (possibly empty), replacing the previous one. */
#define SY_DISCOVERY_RESET 0
/** sy_discovery_event.kind: endpoints to add, or to replace when their address is known. */
#define SY_DISCOVERY_ADD 1
/** sy_discovery_event.kind: endpoints to remove, by address (only `address` is read; an
 *  unknown address is ignored). */
#define SY_DISCOVERY_REMOVE 2
/** sy_discovery_event.kind: the source says the name does not exist (NXDOMAIN, a missing
 *  key): the set empties. */
#define SY_DISCOVERY_NOT_FOUND 3
/** sy_discovery_event.kind: a heartbeat: the source answered and nothing changed (it resets
 *  the staleness clock and clears an error state). */
#define SY_DISCOVERY_CURRENT 4
/** sy_discovery_event.kind: the source failed (`message` says how); the set is kept. */
#define SY_DISCOVERY_ERROR 5

/** Most endpoints in one event (and in a backend's set). */
#define SY_DISCOVERY_ENDPOINTS_MAX 10000
/** Most labels on one endpoint (its own and the set labels together), and in sy_discovery_event.set_labels. */
#define SY_DISCOVERY_LABELS_MAX 64
/** Longest label key or value, in bytes. */
#define SY_LABEL_MAX 253
/** Largest endpoint weight; 0 means 1. */
#define SY_WEIGHT_MAX 1000000

/**
 * What a discovery instance is created for: its config and the backend it feeds.
 */
typedef struct sy_discovery_params {
    /** sizeof(sy_discovery_params) as the host was compiled. */
    uint32_t struct_size;
    /** The backend authority's port, 1-65535 (80 when it has none): the port of endpoints a
     *  source gives no port for (DNS A and AAAA records). */
    uint32_t port;
    /** UTF-8 JSON text of the discovery's `config` block ("{}" when there is none), converted
     *  from YAML as sy_balancer_params.config_json is. */
    sy_str config_json;
    /** The backend's authority as configured, e.g. "web.prod.svc.cluster.local:80". */
    sy_str authority;
    /** Its host part, without port or brackets, e.g. "web.prod.svc.cluster.local". */
    sy_str host;
    /** A random seed for this instance (jitter, say). */
    uint64_t seed;
} sy_discovery_params;

/**
 * One endpoint in a discovery event.
 */
typedef struct sy_discovered_endpoint {
    /** sizeof(sy_discovered_endpoint) as the plugin was compiled. */
    uint32_t struct_size;
    /** Relative weight, 1-SY_WEIGHT_MAX; 0 means 1. */
    uint32_t weight;
    /** The address: an IP literal and a port, "10.1.2.3:8080" or "[fd00::1]:8080" (no names:
     *  the discovery resolves them). Its identity: unique within an event. */
    sy_str address;
    /** Labels the endpoint resolver chain sees (as config labels are), merged over the
     *  event's set_labels; keys unique. NULL when label_count is 0. */
    const sy_label *labels;
    /** Number of labels, at most SY_DISCOVERY_LABELS_MAX. */
    uint32_t label_count;
    /** Size of one element of `labels`, in bytes (step with SY_ELEMENT). */
    uint32_t label_size;
    /** Reserved flags, zero. */
    uint32_t flags;
    /** Reserved, zero. */
    uint32_t reserved;
    /** The endpoint's metadata, validated as answer_meta() validates it; NULL (the usual case):
     *  the host asks the config's endpoint resolver chain, with the address and labels. */
    const sy_meta *meta;
} sy_discovered_endpoint;

/**
 * One change in a backend's endpoint set, published by a discovery through
 * sy_host_services.discovery_publish. Everything in it is borrowed for the call.
 *
 * Refused as a fault (the set stays as it was): an unknown kind; more than
 * SY_DISCOVERY_ENDPOINTS_MAX endpoints, or an ADD that would make the backend's set larger than
 * that; endpoints with NOT_FOUND, CURRENT or ERROR; an ERROR without a message; an address that
 * is not an IP literal with a port 1-65535; the same address twice (compared in canonical form:
 * "[FD00:0::1]:80" is "[fd00::1]:80"); a weight over SY_WEIGHT_MAX; a label key empty, longer
 * than SY_LABEL_MAX or repeated, a value longer than SY_LABEL_MAX, or more than
 * SY_DISCOVERY_LABELS_MAX labels on an endpoint with the set labels; text that is not UTF-8 or
 * holds control characters; an invalid meta; a message longer than SY_MESSAGE_MAX.
 */
struct sy_discovery_event {
    /** sizeof(sy_discovery_event) as the plugin was compiled. */
    uint32_t struct_size;
    /** SY_DISCOVERY_RESET ... SY_DISCOVERY_ERROR. */
    int32_t kind;
    /** The source's version of the set (an etcd revision, a DNS answer counter), shown in
     *  `/config` and logs; 0 when the source has none. */
    uint64_t generation;
    /** The endpoints (RESET, ADD, REMOVE); NULL when endpoint_count is 0. */
    const sy_discovered_endpoint *endpoints;
    /** Number of endpoints. */
    uint32_t endpoint_count;
    /** Size of one element of `endpoints`, in bytes (step with SY_ELEMENT). */
    uint32_t endpoint_size;
    /** Labels every endpoint of this event gets, under its own (a config's static labels);
     *  NULL when set_label_count is 0. */
    const sy_label *set_labels;
    /** Number of set_labels, at most SY_DISCOVERY_LABELS_MAX. */
    uint32_t set_label_count;
    /** Size of one element of `set_labels`, in bytes. */
    uint32_t set_label_size;
    /** What happened, for the log: required words for ERROR (e.g. "127.0.0.1:53: timed out"),
     *  optional otherwise; ptr NULL when absent. */
    sy_str message;
};

/**
 * A named discovery: a source of endpoints (ABI 1.2).
 */
typedef struct sy_discovery_def {
    /** sizeof(sy_discovery_def) as the plugin was compiled. */
    uint32_t struct_size;
    /** Reserved, zero. */
    uint32_t reserved;
    /** Name used in config, e.g. "dns" (see SY_NAME_MAX). NUL-terminated, static. */
    const char *name;
    /** One line saying where it looks, shown by `switchyard plugins inspect`. NUL-terminated,
     *  static; may be NULL. */
    const char *summary;
    /** Opaque plugin data passed back to create(); may be NULL. */
    void *context;
    /**
     * Validates `params->config_json` and makes an instance, with no I/O and no thread yet. On
     * success stores a non-NULL instance in *instance and returns SY_OK; to refuse the config,
     * calls host->fail(call, why) and returns SY_ERROR. Required.
     */
    sy_status (*create)(void *context, const sy_discovery_params *params, sy_call *call, void **instance);
    /**
     * Starts the instance: keeps `sink` and starts the thread that watches the source and
     * publishes to it. Returns at once. A source it cannot reach is an ERROR event, not a
     * failed start. Called at most once per instance. Required.
     */
    void (*start)(void *instance, sy_discovery_sink *sink);
    /**
     * Stops the instance's thread (if started) and frees the instance. Returns only once the
     * plugin will never touch the sink again; blocks no longer than it takes to notice (bound
     * every wait of the thread: a second or two). Required.
     */
    void (*destroy)(void *instance);
} sy_discovery_def;

/* ======================================================================================== */
/* The plugin descriptor and the entry point                                                */
/* ======================================================================================== */

/**
 * What a plugin is: returned by the entry function, static, never freed.
 */
typedef struct sy_plugin_descriptor {
    /** sizeof(sy_plugin_descriptor) as the plugin was compiled. */
    uint32_t struct_size;
    /** SY_ABI_MAJOR the plugin was built with. */
    uint16_t abi_major;
    /** SY_ABI_MINOR the plugin was built with. */
    uint16_t abi_minor;
    /** Plugin name, unique among loaded plugins, e.g. "standard-balancers". NUL-terminated. */
    const char *name;
    /** Plugin version, free text such as "1.0.0". NUL-terminated. */
    const char *version;
    /** The resolvers it exports: an array of resolver_count pointers. NULL when the count is 0. */
    const sy_resolver_def *const *resolvers;
    /** Number of resolvers. */
    uint32_t resolver_count;
    /** Number of balancers. */
    uint32_t balancer_count;
    /** The balancers it exports: an array of balancer_count pointers. NULL when the count is 0. */
    const sy_balancer_def *const *balancers;
    /* ---- ABI 1.2 ---- */
    /** The discoveries it exports: an array of discovery_count pointers. NULL when the count is 0. */
    const sy_discovery_def *const *discoveries;
    /** Number of discoveries. */
    uint32_t discovery_count;
    /** Reserved, zero. */
    uint32_t reserved;
} sy_plugin_descriptor;

/* ======================================================================================== */
/* Sizes by minor version                                                                   */
/* ======================================================================================== */

/* Each boundary struct's size in ABI 1.0 (LP64: x86-64 and aarch64 Linux). The host refuses a
 * plugin struct whose struct_size is smaller, and a plugin should treat a host struct the same
 * way. These values are frozen: the test suite keeps a copy of the 1.0 header and fails when a
 * 1.0 field moves or one of these changes. */
/** sizeof(sy_meta) in ABI 1.0. */
#define SY_META_SIZE_1_0 96
/** sizeof(sy_service_query) in ABI 1.0. */
#define SY_SERVICE_QUERY_SIZE_1_0 40
/** sizeof(sy_endpoint_query) in ABI 1.0. */
#define SY_ENDPOINT_QUERY_SIZE_1_0 56
/** sizeof(sy_host_services) in ABI 1.0. */
#define SY_HOST_SERVICES_SIZE_1_0 48
/** sizeof(sy_resolver_def) in ABI 1.0. */
#define SY_RESOLVER_DEF_SIZE_1_0 64
/** sizeof(sy_balancer_params) in ABI 1.0. */
#define SY_BALANCER_PARAMS_SIZE_1_0 32
/** sizeof(sy_load_model) in ABI 1.0. */
#define SY_LOAD_MODEL_SIZE_1_0 24
/** sizeof(sy_endpoint) in ABI 1.0. */
#define SY_ENDPOINT_SIZE_1_0 24
/** sizeof(sy_pick) in ABI 1.0. */
#define SY_PICK_SIZE_1_0 40
/** sizeof(sy_balancer_def) in ABI 1.0. */
#define SY_BALANCER_DEF_SIZE_1_0 64
/** sizeof(sy_plugin_descriptor) in ABI 1.0. */
#define SY_PLUGIN_DESCRIPTOR_SIZE_1_0 48
/** Element size of sy_endpoint_load arrays (sy_pick.load_size) in ABI 1.0. */
#define SY_ENDPOINT_LOAD_SIZE_1_0 24
/** Element size of sy_label arrays (sy_endpoint_query.label_size) in ABI 1.0. */
#define SY_LABEL_SIZE_1_0 32

/* The structs ABI 1.1 grew, at their 1.1 sizes (the others are as in 1.0). */
/** sizeof(sy_endpoint) in ABI 1.1: previous_index. */
#define SY_ENDPOINT_SIZE_1_1 32
/** Element size of sy_endpoint_load arrays in ABI 1.1: backend_in_flight. */
#define SY_ENDPOINT_LOAD_SIZE_1_1 32
/** sizeof(sy_balancer_def) in ABI 1.1: observe. */
#define SY_BALANCER_DEF_SIZE_1_1 72
/** sizeof(sy_outcome) in ABI 1.1, where it first appeared. */
#define SY_OUTCOME_SIZE_1_1 32

/* The structs ABI 1.2 grew or added. */
/** sizeof(sy_host_services) in ABI 1.2: discovery_publish. */
#define SY_HOST_SERVICES_SIZE_1_2 56
/** sizeof(sy_plugin_descriptor) in ABI 1.2: discoveries, discovery_count. */
#define SY_PLUGIN_DESCRIPTOR_SIZE_1_2 64
/** sizeof(sy_discovery_def) in ABI 1.2, where it first appeared. */
#define SY_DISCOVERY_DEF_SIZE_1_2 56
/** sizeof(sy_discovery_params) in ABI 1.2, where it first appeared. */
#define SY_DISCOVERY_PARAMS_SIZE_1_2 64
/** sizeof(sy_discovery_event) in ABI 1.2, where it first appeared. */
#define SY_DISCOVERY_EVENT_SIZE_1_2 64
/** sizeof(sy_discovered_endpoint) in ABI 1.2, where it first appeared. */
#define SY_DISCOVERED_ENDPOINT_SIZE_1_2 56

/**
 * Whether `ptr`, a pointer to a `type` that starts with struct_size, holds `field`: its
 * struct_size covers the field's last byte. Read a field a later minor added only when this
 * is true, e.g. `if (SY_HAS_FIELD(sy_pick, p, newer_field)) ...`.
 */
#define SY_HAS_FIELD(type, ptr, field) \
    ((size_t)(ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/**
 * Whether elements of `element_size` bytes (an array's `*_size`) hold `field` of `type`, e.g.
 * `if (SY_ELEMENT_HAS_FIELD(sy_endpoint_load, p->load_size, backend_in_flight)) ...`.
 */
#define SY_ELEMENT_HAS_FIELD(type, element_size, field) \
    ((size_t)(element_size) >= offsetof(type, field) + sizeof(((type *)0)->field))

#ifdef __cplusplus
#define SY_STATIC_ASSERT static_assert
#else
#define SY_STATIC_ASSERT _Static_assert
#endif
/* A minor only appends: this header's structs are never smaller than 1.0's. */
SY_STATIC_ASSERT(sizeof(sy_meta) >= SY_META_SIZE_1_0, "sy_meta shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_service_query) >= SY_SERVICE_QUERY_SIZE_1_0, "sy_service_query shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_endpoint_query) >= SY_ENDPOINT_QUERY_SIZE_1_0, "sy_endpoint_query shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_host_services) >= SY_HOST_SERVICES_SIZE_1_0, "sy_host_services shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_resolver_def) >= SY_RESOLVER_DEF_SIZE_1_0, "sy_resolver_def shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_balancer_params) >= SY_BALANCER_PARAMS_SIZE_1_0, "sy_balancer_params shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_load_model) >= SY_LOAD_MODEL_SIZE_1_0, "sy_load_model shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_endpoint) >= SY_ENDPOINT_SIZE_1_0, "sy_endpoint shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_pick) >= SY_PICK_SIZE_1_0, "sy_pick shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_balancer_def) >= SY_BALANCER_DEF_SIZE_1_0, "sy_balancer_def shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_plugin_descriptor) >= SY_PLUGIN_DESCRIPTOR_SIZE_1_0, "sy_plugin_descriptor shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_endpoint_load) >= SY_ENDPOINT_LOAD_SIZE_1_0, "sy_endpoint_load shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_label) >= SY_LABEL_SIZE_1_0, "sy_label shrank below ABI 1.0");
SY_STATIC_ASSERT(sizeof(sy_endpoint) >= SY_ENDPOINT_SIZE_1_1, "sy_endpoint shrank below ABI 1.1");
SY_STATIC_ASSERT(sizeof(sy_endpoint_load) >= SY_ENDPOINT_LOAD_SIZE_1_1, "sy_endpoint_load shrank below ABI 1.1");
SY_STATIC_ASSERT(sizeof(sy_balancer_def) >= SY_BALANCER_DEF_SIZE_1_1, "sy_balancer_def shrank below ABI 1.1");
SY_STATIC_ASSERT(sizeof(sy_outcome) >= SY_OUTCOME_SIZE_1_1, "sy_outcome shrank below ABI 1.1");
SY_STATIC_ASSERT(sizeof(sy_host_services) >= SY_HOST_SERVICES_SIZE_1_2, "sy_host_services shrank below ABI 1.2");
SY_STATIC_ASSERT(sizeof(sy_plugin_descriptor) >= SY_PLUGIN_DESCRIPTOR_SIZE_1_2, "sy_plugin_descriptor shrank below ABI 1.2");
SY_STATIC_ASSERT(sizeof(sy_discovery_def) >= SY_DISCOVERY_DEF_SIZE_1_2, "sy_discovery_def shrank below ABI 1.2");
SY_STATIC_ASSERT(sizeof(sy_discovery_params) >= SY_DISCOVERY_PARAMS_SIZE_1_2, "sy_discovery_params shrank below ABI 1.2");
SY_STATIC_ASSERT(sizeof(sy_discovery_event) >= SY_DISCOVERY_EVENT_SIZE_1_2, "sy_discovery_event shrank below ABI 1.2");
SY_STATIC_ASSERT(sizeof(sy_discovered_endpoint) >= SY_DISCOVERED_ENDPOINT_SIZE_1_2, "sy_discovered_endpoint shrank below ABI 1.2");

/**
 * The entry function of ABI major 1, exported by every plugin under this exact name.
 *
 * Called once per file, before anything else, with the host services for this plugin (valid
 * for the life of the process). Returns the plugin's descriptor, or NULL when the plugin
 * cannot work in this host (it should log why first). The host checks `abi_major` before
 * reading anything past it.
 */
const sy_plugin_descriptor *switchyard_plugin_entry_v1(const sy_host_services *host);

/** Type of switchyard_plugin_entry_v1, for hosts that look it up with dlsym(). */
typedef const sy_plugin_descriptor *(*sy_plugin_entry_v1_fn)(const sy_host_services *host);

#ifdef __cplusplus
}
#endif

#endif /* SWITCHYARD_PLUGIN_H */
