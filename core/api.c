/*
 * api.c - routes and answers API requests.
 *
 * Authentication comes first, before any route looks at the request, and
 * failed attempts are counted in a window: past the limit every attempt
 * is refused with 429 until the window ends, without comparing keys, so
 * guessing keys stays slow. The comparison itself takes the same time
 * whichever key, or how much of one, matched.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "api_private.h"
#include "clock.h"
#include "keeper.h"
#include "scheduler.h"
#include "daemon.h"
#include "log.h"

/* Failed authentications tolerated per window before 429. */
#define AUTH_FAILURE_LIMIT  20
#define AUTH_WINDOW_SECONDS 60.0

static json_t *
health_store(struct herald_daemon *d, int *ok)
{
    struct herald_error err = {""};
    json_t *store;

    store = json_pack("{s:i}", "schema_version",
                      herald_store_schema_version(d->store));
    if (herald_store_check_writable(d->store, &err) == 0) {
        json_object_set_new(store, "ok", json_true());
    } else {
        *ok = 0;
        json_object_set_new(store, "ok", json_false());
        json_object_set_new(store, "error", json_string(err.msg));
    }
    return store;
}

static json_t *
health_plugins(struct herald_daemon *d)
{
    size_t enabled = 0;

    for (size_t i = 0; i < d->registry.count; i++)
        enabled += d->registry.networks[i].enabled ? 1 : 0;
    return json_pack("{s:b,s:I,s:I}", "ok", 1, "loaded",
                     (json_int_t)d->registry.count, "enabled",
                     (json_int_t)enabled);
}

static void
get_health(struct herald_daemon *d, struct herald_request *req,
           const struct api_params *params)
{
    int ok = 1;
    json_t *store = health_store(d, &ok);
    json_t *loop =
        json_pack("{s:b,s:f,s:b}", "ok", 1, "uptime_s",
                  ev_now(d->loop) - d->started, "stopping", d->stop_asked > 0);
    json_t *body =
        json_pack("{s:s,s:s,s:o,s:o,s:o,s:{s:i},s:{s:i}}", "status",
                  ok ? "ok" : "unhealthy", "version", HERALD_VERSION, "loop",
                  loop, "store", store, "plugins", health_plugins(d), "keeper",
                  "in_flight", (int)herald_keeper_in_flight(d), "scheduler",
                  "in_flight", (int)herald_scheduler_in_flight(d));

    (void)params;
    herald_request_respond_json(req, ok ? 200 : 503, body);
}

static const char *
counting_name(enum herald_text_count c)
{
    switch (c) {
    case HERALD_COUNT_CODEPOINTS:
        return "codepoints";
    case HERALD_COUNT_WEIGHTED:
        return "weighted";
    case HERALD_COUNT_UTF16:
        return "utf16";
    }
    return "unknown";
}

static const char *
media_name(enum herald_media_rule m)
{
    switch (m) {
    case HERALD_MEDIA_NONE:
        return "none";
    case HERALD_MEDIA_ALLOWED:
        return "allowed";
    case HERALD_MEDIA_REQUIRED:
        return "required";
    }
    return "unknown";
}

static json_t *
content_json(const struct herald_content_rules *c)
{
    json_t *o = json_pack(
        "{s:I,s:s,s:s,s:I,s:b,s:b,s:b,s:s*}", "max_text",
        (json_int_t)c->max_text, "counting", counting_name(c->counting),
        "media", media_name(c->media), "max_media", (json_int_t)c->max_media,
        "text_required", c->text_required, "link_allowed", c->link_allowed,
        "target_required", c->target_required, "link_separator",
        c->link_separator);

    if (c->counting == HERALD_COUNT_WEIGHTED ||
        (c->counting == HERALD_COUNT_CODEPOINTS && c->url_weight > 0))
        json_object_set_new(o, "url_weight", json_integer(c->url_weight));
    return o;
}

static json_t *
capabilities_json(const struct herald_plugin *p)
{
    uint32_t caps = p->capabilities;

    return json_pack(
        "{s:b,s:b,s:b,s:b,s:b,s:b}", "pkce", !!(caps & HERALD_CAP_PKCE),
        "refresh", !!(caps & HERALD_CAP_REFRESH), "lookup",
        (caps & HERALD_CAP_LOOKUP) &&
            herald_plugin_has(p, offsetof(struct herald_plugin, lookup)),
        "revoke",
        (caps & HERALD_CAP_REVOKE) &&
            herald_plugin_has(p, offsetof(struct herald_plugin, revoke)),
        "targets", !!(caps & HERALD_CAP_TARGETS), "deduplicates",
        !!(caps & HERALD_CAP_DEDUPLICATES));
}

static json_t *
network_json(const struct herald_network *net)
{
    const struct herald_plugin *p = net->plugin;
    char abi[32];

    snprintf(abi, sizeof(abi), "%u.%u", (unsigned)p->abi_major,
             (unsigned)p->abi_minor);
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:b,s:b}", "name", p->name,
        "display_name", p->display_name, "version", p->version, "abi", abi,
        "token_model", herald_token_model_name(p->token_model),
        "reconnect_window_s", (json_int_t)p->reconnect_window, "capabilities",
        capabilities_json(p), "content", content_json(p->content),
        "configured", net->config != NULL, "enabled", net->enabled);
}

static void
get_networks(struct herald_daemon *d, struct herald_request *req,
             const struct api_params *params)
{
    json_t *list = json_array();

    (void)params;
    for (size_t i = 0; i < d->registry.count; i++)
        json_array_append_new(list, network_json(&d->registry.networks[i]));
    herald_request_respond_json(req, 200,
                                json_pack("{s:o}", "networks", list));
}

/* Moves the clock forward; only with test_clock, else no such route. */
static void
post_test_clock(struct herald_daemon *d, struct herald_request *req,
                const struct api_params *params)
{
    json_t *body;
    json_t *advance;

    (void)params;
    if (!d->cfg->test_clock) {
        herald_request_error(req, 404, "not_found", "no such endpoint");
        return;
    }
    if (!(body = herald_api_body_object(req)))
        return;
    advance = json_object_get(body, "advance_s");
    if (!json_is_number(advance) || json_number_value(advance) < 0) {
        herald_request_error(req, 400, "invalid_field",
                             "'advance_s' must be a number of seconds >= 0");
    } else {
        herald_clock_advance((int64_t)(json_number_value(advance) * 1000));
        HLOG(LOG_WARNING, "api", "test clock moved forward %.3f s",
             json_number_value(advance));
        herald_keeper_rearm(d);
        herald_scheduler_kick(d);
        herald_request_respond_json(
            req, 200,
            json_pack("{s:o,s:I}", "now",
                      herald_api_time_json(herald_clock_now_ms()), "offset_ms",
                      (json_int_t)herald_clock_offset_ms()));
    }
    json_decref(body);
}

static const struct api_route core_routes[] = {
    {"GET", "/v1/health", 1, get_health},
    {"GET", "/v1/networks", 0, get_networks},
    {"POST", "/v1/test/clock", 0, post_test_clock},
    {NULL, NULL, 0, NULL},
};

static const struct api_route *const route_tables[] = {
    core_routes,
    herald_api_oauth_routes,
    herald_api_account_routes,
    herald_api_event_routes,
    herald_api_post_routes,
    herald_api_bulk_routes,
    herald_api_link_routes,
    herald_api_metrics_routes,
};

#define ROUTE_TABLES (sizeof(route_tables) / sizeof(*route_tables))

/*
 * Matches path against pattern, segment by segment; ':' segments match
 * any one non-empty segment and are copied into params. Returns 1 on a
 * match.
 */
static int
match(const char *pattern, const char *path, struct api_params *params)
{
    params->count = 0;
    while (*pattern && *path) {
        const char *pend = strchr(pattern + 1, '/');
        const char *send = strchr(path + 1, '/');
        size_t plen = pend ? (size_t)(pend - pattern) : strlen(pattern);
        size_t slen = send ? (size_t)(send - path) : strlen(path);

        if (pattern[0] != '/' || path[0] != '/')
            return 0;
        if (pattern[1] == ':') {
            if (slen < 2 || slen - 1 >= sizeof(params->value[0]) ||
                params->count >= API_MAX_PARAMS)
                return 0;
            memcpy(params->value[params->count], path + 1, slen - 1);
            params->value[params->count][slen - 1] = '\0';
            params->count++;
        } else if (plen != slen || strncmp(pattern, path, plen) != 0) {
            return 0;
        }
        pattern += plen;
        path += slen;
    }
    return *pattern == '\0' && *path == '\0';
}

/* Answers with a JSON body (a new reference, stolen) and extra headers. */
static void
respond_with_headers(struct herald_request *req, unsigned status,
                     const char *const *headers, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);

    json_decref(body);
    if (text)
        herald_request_respond(req, status, "application/json", text,
                               strlen(text), headers);
    free(text);
}

/* Returns 1 when the request carries a configured API key. */
static int
key_matches(const struct herald_daemon *d, const char *header)
{
    static const char prefix[] = "Bearer ";
    int matched = 0;

    if (!header || strncmp(header, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    header += sizeof(prefix) - 1;
    /* Every key is compared, so the time does not tell which matched. */
    for (size_t i = 0; i < d->cfg->api_key_count; i++)
        matched |= herald_crypto_str_equal(header, d->cfg->api_keys[i]);
    return matched;
}

static int
authenticate(struct herald_daemon *d, struct herald_request *req)
{
    static const char *const challenge[] = {"WWW-Authenticate: Bearer", NULL};
    ev_tstamp now = ev_now(d->loop);

    if (now - d->auth_window_start >= AUTH_WINDOW_SECONDS) {
        if (d->auth_failures > AUTH_FAILURE_LIMIT)
            HLOG(LOG_NOTICE, "api",
                 "%u failed authentications in the last "
                 "window",
                 d->auth_failures);
        d->auth_window_start = now;
        d->auth_failures = 0;
    }
    if (d->auth_failures >= AUTH_FAILURE_LIMIT) {
        d->auth_failures++;
        herald_request_error(req, 429, "too_many_failures",
                             "too many failed authentications; try again "
                             "later");
        return 0;
    }
    if (key_matches(d, herald_request_header(req, "Authorization")))
        return 1;

    if (d->auth_failures++ == 0)
        HLOG(LOG_NOTICE, "api", "refused a request without a valid API key");
    respond_with_headers(req, 401, challenge,
                         json_pack("{s:{s:s,s:s}}", "error", "code",
                                   "unauthorized", "message",
                                   "a valid API key is required as "
                                   "'Authorization: Bearer KEY'"));
    return 0;
}

static void
method_not_allowed(struct herald_request *req, const char *path)
{
    char allow[128] = "Allow: ";
    const char *headers[] = {allow, NULL};
    struct api_params params;

    for (size_t t = 0; t < ROUTE_TABLES; t++) {
        for (const struct api_route *r = route_tables[t]; r->method; r++) {
            if (!match(r->pattern, path, &params) ||
                strlen(allow) + strlen(r->method) + 3 > sizeof(allow))
                continue;
            if (allow[7])
                strcat(allow, ", ");
            strcat(allow, r->method);
        }
    }
    respond_with_headers(req, 405, headers,
                         json_pack("{s:{s:s,s:s}}", "error", "code",
                                   "method_not_allowed", "message",
                                   "this method is not allowed here"));
}

/* Finds the route for method and path; *path_known says whether any
 * route has that path. */
static const struct api_route *
find_route(const char *method, const char *path, struct api_params *params,
           int *path_known)
{
    *path_known = 0;
    for (size_t t = 0; t < ROUTE_TABLES; t++) {
        for (const struct api_route *r = route_tables[t]; r->method; r++) {
            if (!match(r->pattern, path, params))
                continue;
            *path_known = 1;
            if (strcmp(r->method, method) == 0)
                return r;
        }
    }
    return NULL;
}

void
herald_api_handle(struct herald_request *req, void *udata)
{
    struct herald_daemon *d = udata;
    const char *path = herald_request_path(req);
    const struct api_route *route;
    struct api_params params;
    int path_known;

    route = find_route(herald_request_method(req), path, &params, &path_known);
    herald_request_set_route(req, route ? route->pattern : NULL);
    if (route && (route->open == API_OPEN ||
                  (route->open == API_OPEN_IF_METRICS_PUBLIC &&
                   d->cfg->metrics_public))) {
        route->fn(d, req, &params);
        return;
    }
    if (!authenticate(d, req))
        return;
    if (route)
        route->fn(d, req, &params);
    else if (path_known)
        method_not_allowed(req, path);
    else
        herald_request_error(req, 404, "not_found", "no such endpoint");
}
