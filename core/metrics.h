/*
 * metrics.h - the daemon's counters and histograms, and their rendering
 * in the Prometheus text exposition format (version 0.0.4).
 *
 * The modules where things happen call the herald_metrics_*() hooks
 * below: the scheduler (publish attempts, lateness), the keeper
 * (renewals, access checks), the host API (requests to networks, rate
 * limits), the HTTP server (API requests) and the notifier (notices).
 * Each hook adds to fixed-size arrays indexed by small enums and by a
 * network's slot, so an increment never allocates and never fails.
 * GET /metrics (api_metrics.c) renders them, with the gauges it reads
 * from the store, on each scrape; docs/metrics.md lists every metric.
 *
 * The counters live for the process: they start at zero with each
 * daemon, as Prometheus expects of counters. Calling context: the loop
 * thread only; nothing here is locked.
 */
#ifndef HERALD_METRICS_H
#define HERALD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "herald/plugin.h"

/* Networks counted at most; a further one's events are not counted. */
#define HERALD_METRICS_MAX_NETWORKS 32

/* How a keeper action ended. */
enum herald_metrics_result {
    HERALD_METRICS_OK = 0,     /* renewed, or access confirmed */
    HERALD_METRICS_FAILED = 1, /* anything else */
};

/* How one notice delivery attempt ended. */
enum herald_metrics_notice {
    HERALD_METRICS_NOTICE_DELIVERED = 0,
    HERALD_METRICS_NOTICE_FAILED = 1,  /* this attempt failed */
    HERALD_METRICS_NOTICE_GAVE_UP = 2, /* the notice failed for good */
};

/* One gauge row read from the store: a count by network and status. */
struct herald_metrics_count {
    const char *network; /* borrowed */
    const char *status;  /* borrowed */
    int64_t n;
};

/* The gauges a scrape reads from the store; everything is borrowed. */
struct herald_metrics_gauges {
    const struct herald_metrics_count *posts;
    size_t post_count;
    const struct herald_metrics_count *accounts;
    size_t account_count;
};

/* Forgets every count and remembers now as the process start. Called
 * once when the daemon starts, and by tests. */
void herald_metrics_reset(void);

/* Gives network a slot, so its series are rendered (at zero) before
 * anything happened on it. */
void herald_metrics_network(const char *network);

/* Counts one publish attempt of network ended with outcome kind. */
void herald_metrics_publish(const char *network, enum herald_outcome_kind k);

/* Records how late a post's first attempt went out: late_ms after its
 * schedule (clamped at 0). */
void herald_metrics_lateness(const char *network, int64_t late_ms);

/* Counts a token renewal, or an access check, of network and its end. */
void herald_metrics_renewal(const char *network, enum herald_metrics_result r);
void herald_metrics_check(const char *network, enum herald_metrics_result r);

/* Counts one request to network: transport_ok 0 for a transport error
 * (no complete response), else status is the HTTP status. */
void herald_metrics_request(const char *network, int transport_ok,
                            long status);

/* Counts a rate limit of network; wait_ms is how long the network asked
 * to wait, or <= 0 when it did not say. */
void herald_metrics_rate_limit(const char *network, int64_t wait_ms);

/*
 * Counts an API request answered with status after seconds. route is
 * the pattern it matched ("/v1/posts/:id"; a string that lives forever),
 * NULL for none; method is the request's ("GET"), any other method is
 * counted as "other".
 */
void herald_metrics_api(const char *method, const char *route, unsigned status,
                        double seconds);

/* Counts a notice delivery on channel ("email", "webhook"). */
void herald_metrics_notice(const char *channel, enum herald_metrics_notice o);

/*
 * Renders every metric, with gauges (may be NULL: no store gauges), as
 * Prometheus text into *out (malloc()ed, NUL-terminated, *len bytes;
 * the caller frees it). Returns 0 or -ENOMEM.
 */
int herald_metrics_render(const struct herald_metrics_gauges *gauges,
                          char **out, size_t *len);

#endif
