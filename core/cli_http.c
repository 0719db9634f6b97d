/*
 * cli_http.c - how the command-line client talks to the daemon: one
 * blocking libcurl request per call, and on failure a message on stderr
 * that says what went wrong and what to do about it.
 *
 * Called by the commands in cli_*.c. The API key goes into the
 * Authorization header only; the header's buffer is wiped once the
 * request is over, and no message carries it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli_private.h"

#define CONNECT_TIMEOUT_S 10
/* A removal waits for the network's revocation, so allow it time. */
#define REQUEST_TIMEOUT_S 120

/* What to do after each error code the API answers with. */
static const struct {
    const char *code;
    const char *hint;
} hints[] = {
    {"unauthorized", "check the API key given by --api-key, HERALD_API_KEY "
                     "or the config's api_keys"},
    {"too_many_failures", "too many wrong keys were tried: wait a minute, "
                          "then check the API key"},
    {"not_found", "check the id or name: 'herald accounts list', "
                  "'herald posts list' and 'herald networks list' show "
                  "what exists"},
    {"unknown_network", "'herald networks list' shows the networks and "
                        "whether each is enabled"},
    {"return_url_not_allowed", "the return URL must start with one of the "
                               "engine's return_urls"},
    {"invalid_post", "fix these and try again; 'herald posts validate' "
                     "checks a post without creating it"},
    {"wrong_status", "'herald posts show ID' shows the post's status"},
    {"not_connected", "reconnect the account first with 'herald accounts "
                      "reauthorize ID'"},
    {"idempotency_conflict", "this key was used for another post: give a "
                             "new --idempotency-key"},
    {"invalid_query", "see the command's --help for the accepted values"},
    {"invalid_field", "see the command's --help for the accepted values"},
    {"invalid_idempotency_key", "an idempotency key is 1 to 200 "
                                "characters"},
    {"body_too_large", "the request is larger than the daemon's "
                       "max_body_bytes"},
};

static size_t
collect(char *data, size_t size, size_t n, void *udata)
{
    struct cli_buf *b = udata;

    if (cli_buf_printf(b, "%.*s", (int)(size * n), data) != 0)
        return 0;
    return size * n;
}

static const char *
hint_for(const char *code, long status)
{
    for (size_t i = 0; code && i < sizeof(hints) / sizeof(*hints); i++) {
        if (strcmp(hints[i].code, code) == 0)
            return hints[i].hint;
    }
    if (status >= 500)
        return "the daemon could not do it now: try again, and see its log";
    return NULL;
}

static void
explain(struct cli_ctx *c, long status, json_t *answer)
{
    json_t *err = json_object_get(answer, "error");
    const char *code = cli_str(err, "code");
    const char *hint;

    if (c->json && answer)
        cli_print_json(answer);
    if (!code) {
        fprintf(stderr,
                "herald: the daemon at '%s' answered HTTP %ld without an "
                "error of herald's API; is that herald's address?\n",
                c->url, status);
        return;
    }
    fprintf(stderr, "herald: %s: %s (HTTP %ld)\n", code,
            cli_str(err, "message") ? cli_str(err, "message") : "", status);
    cli_print_problems(json_object_get(err, "problems"));
    hint = hint_for(code, status);
    if (hint)
        fprintf(stderr, "herald: %s\n", hint);
}

static void
unreachable(struct cli_ctx *c, CURLcode rc, const char *detail)
{
    fprintf(stderr, "herald: cannot reach the daemon at '%s': %s\n", c->url,
            detail[0] ? detail : curl_easy_strerror(rc));
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        rc == CURLE_OPERATION_TIMEDOUT)
        fprintf(stderr, "herald: is it running there? Start it with "
                        "'herald serve', or name its address with --url, "
                        "HERALD_URL or --config\n");
}

/* Sets up h for one request; the header list is returned in *headers. */
static int
prepare(CURL *h, struct cli_ctx *c, const char *method, const char *url,
        const char *body, const char *idem, struct curl_slist **headers,
        struct cli_buf *auth)
{
    struct cli_buf idem_header = {0};
    int rc = cli_buf_printf(auth, "Authorization: Bearer %s", c->key);

    *headers = curl_slist_append(NULL, "Accept: application/json");
    *headers = curl_slist_append(*headers, auth->s ? auth->s : "");
    if (body)
        *headers =
            curl_slist_append(*headers, "Content-Type: application/json");
    if (idem && cli_buf_printf(&idem_header, "Idempotency-Key: %s", idem) == 0)
        *headers = curl_slist_append(*headers, idem_header.s);
    cli_buf_free(&idem_header);

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "herald-cli/" HERALD_VERSION);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)REQUEST_TIMEOUT_S);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    return rc == 0 && *headers ? 0 : -1;
}

static void
wipe(struct cli_buf *b)
{
    if (b->s)
        explicit_bzero(b->s, b->cap);
    cli_buf_free(b);
}

/* Sends the request; fills *status and the raw answer into got. */
static int
send_request(struct cli_ctx *c, const char *method, const char *path,
             const char *body, const char *idem, long *status,
             struct cli_buf *got)
{
    char detail[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    struct cli_buf url = {0}, auth = {0};
    CURL *h = curl_easy_init();
    CURLcode rc = CURLE_OUT_OF_MEMORY;

    if (h && cli_buf_printf(&url, "%s%s", c->url, path) == 0 &&
        prepare(h, c, method, url.s, body, idem, &headers, &auth) == 0) {
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, got);
        rc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    }
    curl_slist_free_all(headers);
    wipe(&auth);
    cli_buf_free(&url);
    if (h)
        curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        unreachable(c, rc, detail);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int
cli_call(struct cli_ctx *c, const char *method, const char *path, json_t *body,
         const char *idem, json_t **answer)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct cli_buf got = {0};
    long status = 0;
    int rc;

    *answer = NULL;
    rc = send_request(c, method, path, text, idem, &status, &got);
    free(text);
    if (rc != CLI_OK) {
        cli_buf_free(&got);
        return rc;
    }
    *answer = got.s ? json_loads(got.s, 0, NULL) : NULL;
    cli_buf_free(&got);
    if (status >= 200 && status < 300 && json_is_object(*answer))
        return CLI_OK;
    if (status >= 200 && status < 300)
        fprintf(stderr,
                "herald: the answer from '%s' is not herald's JSON (HTTP "
                "%ld); is that herald's address?\n",
                c->url, status);
    else
        explain(c, status, *answer);
    json_decref(*answer);
    *answer = NULL;
    return CLI_FAIL;
}
