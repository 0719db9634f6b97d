/*
 * test_metrics.c - the counters and their Prometheus text (metrics.c).
 *
 * Each test resets the counters, feeds the hooks, renders, and reads the
 * exact lines back: label values escaped, histogram buckets cumulative
 * with +Inf equal to _count, _sum the sum of what was observed, every
 * family with its HELP and TYPE, and what does not fit dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"

static char *
render(const struct herald_metrics_gauges *g)
{
    char *text = NULL;
    size_t len = 0;

    CHECK(herald_metrics_render(g, &text, &len) == 0);
    CHECK(text && strlen(text) == len);
    CHECK(text && len > 0 && text[len - 1] == '\n');
    return text;
}

/* Counts the lines of text that start with prefix. */
static int
lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    size_t plen = strlen(prefix);

    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');

        if (strncmp(p, prefix, plen) == 0)
            n++;
        p = end ? end + 1 : NULL;
    }
    return n;
}

static void
test_label_escaping(void)
{
    static const struct herald_metrics_count posts[] = {
        {"we\"ird\\net", "line\nbreak", 3},
    };
    struct herald_metrics_gauges g = {.posts = posts, .post_count = 1};
    char *text;

    herald_metrics_reset();
    text = render(&g);
    CHECK_CONTAINS(text, "herald_posts{network=\"we\\\"ird\\\\net\","
                         "status=\"line\\nbreak\"} 3\n");
    /* The newline in the value never starts a line of its own. */
    CHECK(lines_starting(text, "break") == 0);
    free(text);
}

static void
test_histogram(void)
{
    char *text;

    herald_metrics_reset();
    herald_metrics_lateness("twitter", 3);       /* 0.003 s: le 0.005 */
    herald_metrics_lateness("twitter", 7);       /* le 0.01 */
    herald_metrics_lateness("twitter", 7);       /* le 0.01 */
    herald_metrics_lateness("twitter", 4000);    /* le 5 */
    herald_metrics_lateness("twitter", -50);     /* clamped to 0 */
    herald_metrics_lateness("twitter", 7200000); /* beyond 3600: +Inf */
    text = render(NULL);
    CHECK_CONTAINS(text, "herald_publish_lateness_seconds_bucket{"
                         "network=\"twitter\",le=\"0.005\"} 2\n");
    CHECK_CONTAINS(text, "herald_publish_lateness_seconds_bucket{"
                         "network=\"twitter\",le=\"0.01\"} 4\n");
    CHECK_CONTAINS(text, "herald_publish_lateness_seconds_bucket{"
                         "network=\"twitter\",le=\"2.5\"} 4\n");
    CHECK_CONTAINS(text, "herald_publish_lateness_seconds_bucket{"
                         "network=\"twitter\",le=\"5\"} 5\n");
    CHECK_CONTAINS(text, "herald_publish_lateness_seconds_bucket{"
                         "network=\"twitter\",le=\"3600\"} 5\n");
    CHECK_CONTAINS(text, "herald_publish_lateness_seconds_bucket{"
                         "network=\"twitter\",le=\"+Inf\"} 6\n");
    CHECK_CONTAINS(text, "herald_publish_lateness_seconds_count{"
                         "network=\"twitter\"} 6\n");
    CHECK_CONTAINS(text, "herald_publish_lateness_seconds_sum{"
                         "network=\"twitter\"} 7204.017000\n");
    /* 16 bounds and +Inf, once each. */
    CHECK(lines_starting(text, "herald_publish_lateness_seconds_bucket{"
                               "network=\"twitter\"") == 17);
    CHECK(lines_starting(text, "# HELP herald_publish_lateness_seconds ") ==
          1);
    CHECK(lines_starting(text, "# TYPE herald_publish_lateness_seconds "
                               "histogram") == 1);
    free(text);
}

static void
test_counters(void)
{
    char *text;

    herald_metrics_reset();
    herald_metrics_network("facebook");
    herald_metrics_publish("twitter", HERALD_OUTCOME_DONE);
    herald_metrics_publish("twitter", HERALD_OUTCOME_DONE);
    herald_metrics_publish("twitter", HERALD_OUTCOME_UNKNOWN);
    herald_metrics_publish("twitter", (enum herald_outcome_kind)99);
    herald_metrics_renewal("twitter", HERALD_METRICS_OK);
    herald_metrics_check("twitter", HERALD_METRICS_FAILED);
    herald_metrics_request("twitter", 1, 201);
    herald_metrics_request("twitter", 1, 429);
    herald_metrics_request("twitter", 0, 0);
    herald_metrics_request("twitter", 1, 99);
    herald_metrics_rate_limit("twitter", 2500);
    herald_metrics_rate_limit("twitter", 0);
    herald_metrics_notice("webhook", HERALD_METRICS_NOTICE_FAILED);
    herald_metrics_notice("webhook", HERALD_METRICS_NOTICE_DELIVERED);
    herald_metrics_notice("webhook", HERALD_METRICS_NOTICE_GAVE_UP);
    herald_metrics_notice("pigeon", HERALD_METRICS_NOTICE_DELIVERED);
    text = render(NULL);
    CHECK_CONTAINS(text, "# HELP herald_publish_attempts_total ");
    CHECK_CONTAINS(text, "# TYPE herald_publish_attempts_total counter\n");
    CHECK_CONTAINS(text, "herald_publish_attempts_total{network=\"twitter\","
                         "outcome=\"done\"} 2\n");
    CHECK_CONTAINS(text, "herald_publish_attempts_total{network=\"twitter\","
                         "outcome=\"unknown\"} 1\n");
    /* A network named before anything happened has its zeros. */
    CHECK_CONTAINS(text, "herald_publish_attempts_total{network="
                         "\"facebook\",outcome=\"done\"} 0\n");
    CHECK_CONTAINS(text, "herald_token_renewals_total{network=\"twitter\","
                         "outcome=\"renewed\"} 1\n");
    CHECK_CONTAINS(text, "herald_account_checks_total{network=\"twitter\","
                         "outcome=\"failed\"} 1\n");
    CHECK_CONTAINS(text, "herald_network_requests_total{network=\"twitter\","
                         "class=\"2xx\"} 1\n");
    CHECK_CONTAINS(text, "herald_network_requests_total{network=\"twitter\","
                         "class=\"4xx\"} 1\n");
    CHECK_CONTAINS(text, "herald_network_requests_total{network=\"twitter\","
                         "class=\"error\"} 2\n");
    CHECK_CONTAINS(text, "herald_rate_limits_total{network=\"twitter\"} 2\n");
    CHECK_CONTAINS(text, "herald_rate_limit_wait_seconds_total{network="
                         "\"twitter\"} 2.500\n");
    CHECK_CONTAINS(text, "herald_notice_attempts_total{channel=\"webhook\","
                         "outcome=\"failed\"} 1\n");
    CHECK_CONTAINS(text, "herald_notice_attempts_total{channel=\"webhook\","
                         "outcome=\"delivered\"} 1\n");
    CHECK_CONTAINS(text, "herald_notices_failed_total{channel=\"webhook\"} "
                         "1\n");
    CHECK_CONTAINS(text,
                   "herald_build_info{version=\"" HERALD_VERSION "\"} 1\n");
    CHECK_CONTAINS(text, "# TYPE herald_start_time_seconds gauge\n");
    free(text);
}

static void
test_api(void)
{
    static const char route[] = "/v1/posts/:id";
    char *text;

    herald_metrics_reset();
    herald_metrics_api("GET", route, 200, 0.003);
    herald_metrics_api("GET", "/v1/posts/:id", 404, 0.02);
    herald_metrics_api("BREW", NULL, 404, 0.0001);
    herald_metrics_api("GET", NULL, 401, 0.0001);
    text = render(NULL);
    CHECK_CONTAINS(text, "herald_api_requests_total{method=\"GET\",route="
                         "\"/v1/posts/:id\",code=\"2xx\"} 1\n");
    CHECK_CONTAINS(text, "herald_api_requests_total{method=\"GET\",route="
                         "\"/v1/posts/:id\",code=\"4xx\"} 1\n");
    CHECK_CONTAINS(text, "herald_api_requests_total{method=\"other\",route="
                         "\"unmatched\",code=\"4xx\"} 1\n");
    CHECK_CONTAINS(text, "herald_api_requests_total{method=\"GET\",route="
                         "\"unmatched\",code=\"4xx\"} 1\n");
    CHECK_CONTAINS(text, "herald_api_request_duration_seconds_bucket{"
                         "method=\"GET\",route=\"/v1/posts/:id\","
                         "le=\"0.0025\"} 0\n");
    CHECK_CONTAINS(text, "herald_api_request_duration_seconds_bucket{"
                         "method=\"GET\",route=\"/v1/posts/:id\","
                         "le=\"0.005\"} 1\n");
    CHECK_CONTAINS(text, "herald_api_request_duration_seconds_bucket{"
                         "method=\"GET\",route=\"/v1/posts/:id\","
                         "le=\"+Inf\"} 2\n");
    CHECK_CONTAINS(text, "herald_api_request_duration_seconds_sum{"
                         "method=\"GET\",route=\"/v1/posts/:id\"} "
                         "0.023000\n");
    free(text);
}

static void
test_bounded(void)
{
    char name[32];
    char *text;

    /* Past the table's size, networks are not counted, never grown. */
    herald_metrics_reset();
    for (int i = 0; i < HERALD_METRICS_MAX_NETWORKS + 5; i++) {
        snprintf(name, sizeof(name), "net%d", i);
        herald_metrics_publish(name, HERALD_OUTCOME_DONE);
    }
    text = render(NULL);
    CHECK(lines_starting(text, "herald_rate_limits_total{") ==
          HERALD_METRICS_MAX_NETWORKS);
    snprintf(name, sizeof(name), "network=\"net%d\"",
             HERALD_METRICS_MAX_NETWORKS);
    CHECK(strstr(text, name) == NULL);
    free(text);
}

int
main(void)
{
    test_label_escaping();
    test_histogram();
    test_counters();
    test_api();
    test_bounded();
    return check_done();
}
