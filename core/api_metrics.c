/*
 * api_metrics.c - GET /metrics: every metric in the Prometheus text
 * format (docs/metrics.md).
 *
 * The route is outside /v1 because scrapers expect it there. It needs an
 * API key like the rest of the API unless the engine's metrics_public is
 * set (api.c decides). A scrape reads the counts of posts and accounts
 * by network and state from the store, where triggers keep them, so it
 * costs the same with ten posts or a million; the counters come from
 * metrics.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_private.h"
#include "log.h"
#include "metrics.h"

/* Rows of counts read at most: networks times states, with room. */
#define MAX_COUNT_ROWS 512

static const char content_type[] = "text/plain; version=0.0.4; charset=utf-8";

/* Reads one kind of count from the store into rows (borrowing the
 * strings of counts). Returns 0 or a negative errno value. */
static int
read_counts(struct herald_daemon *d, enum herald_store_counted what,
            struct herald_store_count *counts,
            struct herald_metrics_count *rows, size_t *n)
{
    int rc = herald_store_counts(d->store, what, counts, MAX_COUNT_ROWS, n);

    for (size_t i = 0; rc == 0 && i < *n; i++) {
        rows[i].network = counts[i].network;
        rows[i].status = counts[i].status;
        rows[i].n = counts[i].n;
    }
    return rc;
}

static void
get_metrics(struct herald_daemon *d, struct herald_request *req,
            const struct api_params *params)
{
    struct herald_store_count *counts =
        calloc(2 * MAX_COUNT_ROWS, sizeof(*counts));
    struct herald_metrics_count *rows =
        calloc(2 * MAX_COUNT_ROWS, sizeof(*rows));
    struct herald_metrics_gauges g = {0};
    char *text = NULL;
    size_t len = 0;
    int rc = counts && rows ? 0 : -ENOMEM;

    (void)params;
    /* Every loaded network has its series, at zero until used. */
    for (size_t i = 0; i < d->registry.count; i++)
        herald_metrics_network(d->registry.networks[i].plugin->name);
    if (rc == 0)
        rc = read_counts(d, HERALD_STORE_COUNT_POSTS, counts, rows,
                         &g.post_count);
    if (rc == 0)
        rc = read_counts(d, HERALD_STORE_COUNT_ACCOUNTS,
                         counts + MAX_COUNT_ROWS, rows + MAX_COUNT_ROWS,
                         &g.account_count);
    g.posts = rows;
    g.accounts = rows ? rows + MAX_COUNT_ROWS : NULL;
    if (rc == 0)
        rc = herald_metrics_render(&g, &text, &len);

    if (rc == 0) {
        herald_request_respond(req, 200, content_type, text, len, NULL);
    } else {
        HLOG(LOG_ERR, "api", "cannot render the metrics: %s", strerror(-rc));
        herald_request_error(
            req, 503, rc == -ENOMEM ? "out_of_memory" : "store_unavailable",
            "the metrics cannot be read now");
    }
    if (counts) {
        herald_store_counts_clear(counts, g.post_count);
        herald_store_counts_clear(counts + MAX_COUNT_ROWS, g.account_count);
    }
    free(counts);
    free(rows);
    free(text);
}

const struct api_route herald_api_metrics_routes[] = {
    {"GET", "/metrics", API_OPEN_IF_METRICS_PUBLIC, get_metrics},
    {NULL, NULL, 0, NULL},
};
