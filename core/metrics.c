/*
 * metrics.c - fixed-size counters and histograms, rendered as Prometheus
 * text on demand.
 *
 * Everything lives in one static struct. Networks get a slot the first
 * time they are named (by a hook, or by the scrape, which names every
 * loaded network so their series exist from the start); API requests
 * get a slot per method and route pattern. Both tables are bounded, so
 * an increment is an array index after a short search, and what does
 * not fit is dropped rather than allocated for. Histograms keep one
 * count per bucket; rendering accumulates them, so each bucket line
 * counts the observations at or below its bound and +Inf equals _count.
 */
#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Names of networks are [a-z0-9_] and short; longer ones are cut. */
#define NAME_MAX_LEN 64

/* API method and route slots at most: routes are a fixed table. */
#define MAX_API_SLOTS 160

#define MAX_BUCKETS 16

/* Outcome kinds are 1..HERALD_OUTCOME_UNKNOWN; 0 is not used. */
#define OUTCOMES (HERALD_OUTCOME_UNKNOWN + 1)

/* A status outside 200..599 counts as an error: curl ends no request
 * with a 1xx, and anything else is not HTTP. */
enum status_class {
    CLASS_2XX,
    CLASS_3XX,
    CLASS_4XX,
    CLASS_5XX,
    CLASS_ERROR, /* no complete response */
    CLASS_COUNT
};

static const char *const class_names[CLASS_COUNT] = {
    "2xx", "3xx", "4xx", "5xx", "error",
};

static const char *const outcome_names[OUTCOMES] = {
    NULL,          "done",     "retry_later", "rate_limited", "token_expired",
    "access_lost", "rejected", "duplicate",   "unknown",
};

static const char *const method_names[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other",
};

#define METHODS (sizeof(method_names) / sizeof(*method_names))

static const char *const channel_names[] = {"email", "webhook"};

#define CHANNELS (sizeof(channel_names) / sizeof(*channel_names))

static const char *const notice_names[] = {"delivered", "failed"};

static const double lateness_bounds[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
    2.5,   5,    10,    30,   60,  300,  900, 3600,
};

static const double api_bounds[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

#define COUNT_OF(a) (sizeof(a) / sizeof(*(a)))

struct histogram {
    uint64_t in_bucket[MAX_BUCKETS]; /* not cumulative */
    uint64_t count;                  /* all observations, +Inf too */
    double sum;
};

struct network_counts {
    char name[NAME_MAX_LEN];
    uint64_t publish[OUTCOMES];
    uint64_t renewals[2];
    uint64_t checks[2];
    uint64_t requests[CLASS_COUNT];
    uint64_t rate_limits;
    double rate_limit_wait_s;
    struct histogram lateness;
};

struct api_slot {
    size_t method;     /* index in method_names */
    const char *route; /* a route pattern that lives forever, or NULL */
    uint64_t classes[CLASS_COUNT];
    struct histogram latency;
};

static struct {
    double start_time; /* seconds since the epoch */
    struct network_counts nets[HERALD_METRICS_MAX_NETWORKS];
    size_t net_count;
    struct api_slot api[MAX_API_SLOTS];
    size_t api_count;
    uint64_t notices[CHANNELS][COUNT_OF(notice_names)];
    uint64_t notices_given_up[CHANNELS];
} m;

void
herald_metrics_reset(void)
{
    struct timespec ts;

    memset(&m, 0, sizeof(m));
    clock_gettime(CLOCK_REALTIME, &ts);
    m.start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The counts of network, given a slot if it has none. NULL when the
 * table is full or name is NULL. */
static struct network_counts *
network(const char *name)
{
    struct network_counts *n;

    if (!name)
        return NULL;
    for (size_t i = 0; i < m.net_count; i++)
        if (strncmp(m.nets[i].name, name, NAME_MAX_LEN - 1) == 0)
            return &m.nets[i];
    if (m.net_count == HERALD_METRICS_MAX_NETWORKS)
        return NULL;
    n = &m.nets[m.net_count++];
    snprintf(n->name, sizeof(n->name), "%s", name);
    return n;
}

static void
observe(struct histogram *h, const double *bounds, size_t nbounds, double v)
{
    size_t i = 0;

    while (i < nbounds && v > bounds[i])
        i++;
    if (i < nbounds)
        h->in_bucket[i]++;
    h->count++;
    h->sum += v;
}

static enum status_class
status_class(long status)
{
    if (status >= 200 && status < 600)
        return (enum status_class)(status / 100 - 2);
    return CLASS_ERROR;
}

void
herald_metrics_network(const char *name)
{
    network(name);
}

void
herald_metrics_publish(const char *name, enum herald_outcome_kind k)
{
    struct network_counts *n = network(name);

    if (n && k >= HERALD_OUTCOME_DONE && k <= HERALD_OUTCOME_UNKNOWN)
        n->publish[k]++;
}

void
herald_metrics_lateness(const char *name, int64_t late_ms)
{
    struct network_counts *n = network(name);

    if (n)
        observe(&n->lateness, lateness_bounds, COUNT_OF(lateness_bounds),
                late_ms > 0 ? (double)late_ms / 1000.0 : 0.0);
}

void
herald_metrics_renewal(const char *name, enum herald_metrics_result r)
{
    struct network_counts *n = network(name);

    if (n)
        n->renewals[r == HERALD_METRICS_OK ? 0 : 1]++;
}

void
herald_metrics_check(const char *name, enum herald_metrics_result r)
{
    struct network_counts *n = network(name);

    if (n)
        n->checks[r == HERALD_METRICS_OK ? 0 : 1]++;
}

void
herald_metrics_request(const char *name, int transport_ok, long status)
{
    struct network_counts *n = network(name);

    if (n)
        n->requests[transport_ok ? status_class(status) : CLASS_ERROR]++;
}

void
herald_metrics_rate_limit(const char *name, int64_t wait_ms)
{
    struct network_counts *n = network(name);

    if (!n)
        return;
    n->rate_limits++;
    if (wait_ms > 0)
        n->rate_limit_wait_s += (double)wait_ms / 1000.0;
}

static size_t
method_index(const char *method)
{
    for (size_t i = 0; i + 1 < METHODS; i++)
        if (method && strcmp(method, method_names[i]) == 0)
            return i;
    return METHODS - 1;
}

static struct api_slot *
api_slot(const char *method, const char *route)
{
    size_t mi = method_index(method);
    struct api_slot *s;

    for (size_t i = 0; i < m.api_count; i++) {
        s = &m.api[i];
        if (s->method == mi &&
            (s->route == route ||
             (s->route && route && strcmp(s->route, route) == 0)))
            return s;
    }
    if (m.api_count == MAX_API_SLOTS)
        return NULL;
    s = &m.api[m.api_count++];
    s->method = mi;
    s->route = route;
    return s;
}

void
herald_metrics_api(const char *method, const char *route, unsigned status,
                   double seconds)
{
    struct api_slot *s = api_slot(method, route);

    if (!s)
        return;
    s->classes[status_class((long)status)]++;
    observe(&s->latency, api_bounds, COUNT_OF(api_bounds),
            seconds > 0 ? seconds : 0.0);
}

void
herald_metrics_notice(const char *channel, enum herald_metrics_notice o)
{
    for (size_t c = 0; c < CHANNELS; c++) {
        if (!channel || strcmp(channel, channel_names[c]) != 0)
            continue;
        if (o == HERALD_METRICS_NOTICE_GAVE_UP)
            m.notices_given_up[c]++;
        else
            m.notices[c][o == HERALD_METRICS_NOTICE_DELIVERED ? 0 : 1]++;
    }
}

/* ---- rendering ------------------------------------------------------ */

struct text {
    char *p;
    size_t len;
    size_t cap;
    int failed;
};

/* Appends printf-style text; a failure marks t failed. */
static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Makes room for need more bytes after the text. Returns 0 or -1. */
static int
grow(struct text *t, size_t need)
{
    size_t cap = t->cap * 2 + need;
    char *grown = realloc(t->p, cap);

    if (!grown)
        return -1;
    t->p = grown;
    t->cap = cap;
    return 0;
}

static void
put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    while (!t->failed) {
        va_start(ap, fmt);
        n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        if (n < 0 || grow(t, (size_t)n + 1) < 0)
            t->failed = 1;
    }
}

/* Appends a label value with \, " and newline escaped. */
static void
put_value(struct text *t, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\')
            put(t, "\\\\");
        else if (*v == '"')
            put(t, "\\\"");
        else if (*v == '\n')
            put(t, "\\n");
        else
            put(t, "%c", *v);
    }
}

/* Appends k1="v1",k2="v2"; k2 may be NULL. */
static void
put_labels(struct text *t, const char *k1, const char *v1, const char *k2,
           const char *v2)
{
    put(t, "%s=\"", k1);
    put_value(t, v1);
    put(t, "\"");
    if (k2) {
        put(t, ",%s=\"", k2);
        put_value(t, v2);
        put(t, "\"");
    }
}

/* Appends name{k1="v1",k2="v2"}; k2 may be NULL. */
static void
put_series(struct text *t, const char *name, const char *k1, const char *v1,
           const char *k2, const char *v2)
{
    put(t, "%s{", name);
    put_labels(t, k1, v1, k2, v2);
    put(t, "}");
}

static void
family(struct text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
put_count(struct text *t, const char *name, const char *k1, const char *v1,
          const char *k2, const char *v2, uint64_t n)
{
    put_series(t, name, k1, v1, k2, v2);
    put(t, " %llu\n", (unsigned long long)n);
}

/* Appends the _bucket, _sum and _count lines of one histogram whose
 * series carries labels k1 (and k2, when not NULL). */
static void
put_histogram(struct text *t, const char *name, const struct histogram *h,
              const double *bounds, size_t nbounds, const char *k1,
              const char *v1, const char *k2, const char *v2)
{
    uint64_t cumulative = 0;

    for (size_t i = 0; i < nbounds; i++) {
        cumulative += h->in_bucket[i];
        put(t, "%s_bucket{", name);
        put_labels(t, k1, v1, k2, v2);
        put(t, ",le=\"%g\"} %llu\n", bounds[i],
            (unsigned long long)cumulative);
    }
    put(t, "%s_bucket{", name);
    put_labels(t, k1, v1, k2, v2);
    put(t, ",le=\"+Inf\"} %llu\n", (unsigned long long)h->count);
    put(t, "%s_sum", name);
    put_series(t, "", k1, v1, k2, v2);
    put(t, " %.6f\n", h->sum);
    put(t, "%s_count", name);
    put_series(t, "", k1, v1, k2, v2);
    put(t, " %llu\n", (unsigned long long)h->count);
}

static void
render_gauge(struct text *t, const char *name, const char *help,
             const struct herald_metrics_count *rows, size_t n)
{
    family(t, name, "gauge", help);
    for (size_t i = 0; i < n; i++) {
        put_series(t, name, "network", rows[i].network, "status",
                   rows[i].status);
        put(t, " %lld\n", (long long)rows[i].n);
    }
}

static void
render_process(struct text *t)
{
    family(t, "herald_build_info", "gauge",
           "Always 1; the version label names the running herald.");
    put_count(t, "herald_build_info", "version", HERALD_VERSION, NULL, NULL,
              1);
    family(t, "herald_start_time_seconds", "gauge",
           "When the daemon started, in seconds since the epoch.");
    put(t, "herald_start_time_seconds %.3f\n", m.start_time);
}

static void
render_publishing(struct text *t)
{
    family(t, "herald_publish_attempts_total", "counter",
           "Publish attempts by network and the outcome the plugin "
           "reported.");
    for (size_t i = 0; i < m.net_count; i++)
        for (size_t k = HERALD_OUTCOME_DONE; k < OUTCOMES; k++)
            put_count(t, "herald_publish_attempts_total", "network",
                      m.nets[i].name, "outcome", outcome_names[k],
                      m.nets[i].publish[k]);
    family(t, "herald_publish_lateness_seconds", "histogram",
           "How long after its scheduled time a post's first attempt was "
           "sent.");
    for (size_t i = 0; i < m.net_count; i++)
        put_histogram(t, "herald_publish_lateness_seconds",
                      &m.nets[i].lateness, lateness_bounds,
                      COUNT_OF(lateness_bounds), "network", m.nets[i].name,
                      NULL, NULL);
}

static void
render_keeper(struct text *t)
{
    static const char *const renewal[] = {"renewed", "failed"};
    static const char *const check[] = {"ok", "failed"};

    family(t, "herald_token_renewals_total", "counter",
           "Token renewals by network and outcome.");
    for (size_t i = 0; i < m.net_count; i++)
        for (size_t r = 0; r < 2; r++)
            put_count(t, "herald_token_renewals_total", "network",
                      m.nets[i].name, "outcome", renewal[r],
                      m.nets[i].renewals[r]);
    family(t, "herald_account_checks_total", "counter",
           "Access checks (identity calls) by network and outcome.");
    for (size_t i = 0; i < m.net_count; i++)
        for (size_t r = 0; r < 2; r++)
            put_count(t, "herald_account_checks_total", "network",
                      m.nets[i].name, "outcome", check[r],
                      m.nets[i].checks[r]);
}

static void
render_network(struct text *t)
{
    family(t, "herald_network_requests_total", "counter",
           "HTTP requests sent to networks by status class; error: no "
           "complete response.");
    for (size_t i = 0; i < m.net_count; i++)
        for (size_t c = 0; c < CLASS_COUNT; c++)
            put_count(t, "herald_network_requests_total", "network",
                      m.nets[i].name, "class", class_names[c],
                      m.nets[i].requests[c]);
    family(t, "herald_rate_limits_total", "counter",
           "Operations a network answered with a rate limit.");
    for (size_t i = 0; i < m.net_count; i++)
        put_count(t, "herald_rate_limits_total", "network", m.nets[i].name,
                  NULL, NULL, m.nets[i].rate_limits);
    family(t, "herald_rate_limit_wait_seconds_total", "counter",
           "Seconds the networks asked to wait in their rate limits, where "
           "they said.");
    for (size_t i = 0; i < m.net_count; i++) {
        put_series(t, "herald_rate_limit_wait_seconds_total", "network",
                   m.nets[i].name, NULL, NULL);
        put(t, " %.3f\n", m.nets[i].rate_limit_wait_s);
    }
}

static void
render_api(struct text *t)
{
    family(t, "herald_api_requests_total", "counter",
           "API requests answered, by method, route pattern and status "
           "class.");
    for (size_t i = 0; i < m.api_count; i++) {
        const struct api_slot *s = &m.api[i];
        const char *route = s->route ? s->route : "unmatched";

        for (size_t c = CLASS_2XX; c < CLASS_COUNT; c++) {
            if (s->classes[c] == 0)
                continue;
            put(t, "herald_api_requests_total{method=\"%s\",route=\"",
                method_names[s->method]);
            put_value(t, route);
            put(t, "\",code=\"%s\"} %llu\n", class_names[c],
                (unsigned long long)s->classes[c]);
        }
    }
    family(t, "herald_api_request_duration_seconds", "histogram",
           "Time from a request's arrival to its answer, by method and "
           "route pattern.");
    for (size_t i = 0; i < m.api_count; i++)
        put_histogram(t, "herald_api_request_duration_seconds",
                      &m.api[i].latency, api_bounds, COUNT_OF(api_bounds),
                      "method", method_names[m.api[i].method], "route",
                      m.api[i].route ? m.api[i].route : "unmatched");
}

static void
render_notices(struct text *t)
{
    family(t, "herald_notice_attempts_total", "counter",
           "Notice delivery attempts by channel and outcome.");
    for (size_t c = 0; c < CHANNELS; c++)
        for (size_t o = 0; o < COUNT_OF(notice_names); o++)
            put_count(t, "herald_notice_attempts_total", "channel",
                      channel_names[c], "outcome", notice_names[o],
                      m.notices[c][o]);
    family(t, "herald_notices_failed_total", "counter",
           "Notices given up on after their last attempt, by channel.");
    for (size_t c = 0; c < CHANNELS; c++)
        put_count(t, "herald_notices_failed_total", "channel",
                  channel_names[c], NULL, NULL, m.notices_given_up[c]);
}

int
herald_metrics_render(const struct herald_metrics_gauges *gauges, char **out,
                      size_t *len)
{
    struct text t = {.cap = 16384};

    t.p = malloc(t.cap);
    if (!t.p)
        return -ENOMEM;
    t.p[0] = '\0';
    render_process(&t);
    if (gauges) {
        render_gauge(&t, "herald_posts", "Posts by network and state.",
                     gauges->posts, gauges->post_count);
        render_gauge(&t, "herald_accounts", "Accounts by network and status.",
                     gauges->accounts, gauges->account_count);
    }
    render_publishing(&t);
    render_keeper(&t);
    render_network(&t);
    render_api(&t);
    render_notices(&t);
    if (t.failed) {
        free(t.p);
        return -ENOMEM;
    }
    *out = t.p;
    *len = t.len;
    return 0;
}
