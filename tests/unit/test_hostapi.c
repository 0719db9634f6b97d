/*
 * test_hostapi.c - a plugin operation through the host API, for real.
 *
 * The fixture plugin is loaded by the loader, initialised with the host
 * API and asked for an account's identity. Its request travels through
 * the daemon's HTTP client to a server on a loopback port that plays the
 * network, and the typed outcome comes back through host->complete().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "check.h"
#include "daemon.h"
#include "hostapi.h"

struct outcome {
    int done;
    enum herald_outcome_kind kind;
    enum herald_access_reason reason;
    char username[64];
};

static int network_requests;

/* The network: /me answers for the token "good" and refuses others. */
static void
network(struct herald_request *req, void *udata)
{
    const char *auth = herald_request_header(req, "Authorization");
    static const char me[] = "{\"id\":\"42\",\"username\":\"alice\"}";

    (void)udata;
    network_requests++;
    if (strcmp(herald_request_path(req), "/me") == 0 && auth &&
        strcmp(auth, "Bearer good") == 0)
        herald_request_respond(req, 200, "application/json", me, strlen(me),
                               NULL);
    else
        herald_request_error(req, 401, "unauthorized", "bad token");
}

static void
op_done(struct herald_op *op, const struct herald_outcome *outcome,
        const struct herald_result *result, void *udata)
{
    struct outcome *o = udata;

    (void)op;
    o->done++;
    o->kind = outcome->kind;
    o->reason = outcome->reason;
    if (outcome->kind == HERALD_OUTCOME_DONE && result && result->identity)
        snprintf(o->username, sizeof(o->username), "%s",
                 result->identity->username);
}

static void
ask_identity(struct herald_daemon *d, struct herald_network *net,
             const char *token, struct outcome *o)
{
    struct herald_credentials creds = {.access_token = token};
    struct herald_account account = {
        .id = 7, .remote_id = "42", .creds = &creds};
    struct herald_op *op;

    memset(o, 0, sizeof(*o));
    op = herald_op_new(net, 7, 0, 0, op_done, o);
    CHECK(op != NULL);
    CHECK(net->plugin->identity(net->state, op, &account) == 0);
    CHECK(o->done == 0);
    while (!o->done)
        ev_run(d->loop, EVRUN_ONCE);
    CHECK(o->done == 1);
}

static void
test_helpers(void)
{
    const struct herald_host *host = herald_host_api();
    char *enc = host->url_encode("a b&c=d/é~");
    json_t *j = host->json_parse("{\"a\":1}", 7);
    struct herald_op *op = herald_op_new(NULL, 0, 0, 0, op_done, NULL);
    unsigned char buf[32] = {0};
    unsigned char zero[32] = {0};

    CHECK(host->size == sizeof(struct herald_host));
    CHECK_STR(enc, "a%20b%26c%3Dd%2F%C3%A9~");
    CHECK(json_integer_value(json_object_get(j, "a")) == 1);
    CHECK(host->json_parse("{\"a\":1,\"a\":2}", 13) == NULL);
    CHECK(host->json_parse("not json", 8) == NULL);
    CHECK(host->now_ms() > 1700000000000LL);
    host->random(buf, sizeof(buf));
    CHECK(memcmp(buf, zero, sizeof(buf)) != 0);
    /* Without an attempt there is nothing to checkpoint into. */
    CHECK(host->checkpoint(op, j) == -EINVAL);
    herald_op_abandon(op);
    json_decref(j);
    free(enc);
}

int
main(void)
{
    struct herald_httpd_limits limits = {4096, 8192, 5, 10, 16};
    struct herald_daemon d;
    struct herald_error err = {""};
    struct herald_httpd *net_server;
    struct herald_network *net;
    struct outcome o;
    char path[512];
    char base[128];

    memset(&d, 0, sizeof(d));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    d.loop = ev_default_loop(0);
    CHECK(herald_client_new(d.loop, 2000, 1 << 20, &d.client) == 0);
    CHECK(herald_host_init(&d) == 0);
    test_helpers();

    CHECK(herald_httpd_start(d.loop, "127.0.0.1", 0, &limits, network, NULL,
                             &net_server, &err) == 0);
    snprintf(path, sizeof(path), "%s/good.so", getenv("HERALD_FIXTURE_DIR"));
    CHECK(herald_loader_load_file(&d.registry, path, &err) == 0);
    net = &d.registry.networks[0];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d",
             herald_httpd_port(net_server));
    net->config = json_pack("{s:s}", "api_base", base);
    CHECK(net->plugin->init(herald_host_api(), net->config, &net->state) == 0);
    net->initialised = 1;

    ask_identity(&d, net, "good", &o);
    CHECK(o.kind == HERALD_OUTCOME_DONE);
    CHECK_STR(o.username, "alice");

    ask_identity(&d, net, "revoked", &o);
    CHECK(o.kind == HERALD_OUTCOME_ACCESS_LOST);
    CHECK(o.reason == HERALD_ACCESS_INVALID);
    CHECK(network_requests == 2);

    /* The network goes away: a transient outcome, not a lost account. */
    herald_httpd_stop(net_server);
    ask_identity(&d, net, "good", &o);
    CHECK(o.kind == HERALD_OUTCOME_RETRY_LATER);

    herald_registry_free(&d.registry);
    herald_client_free(d.client);
    herald_host_fini();
    ev_loop_destroy(d.loop);
    curl_global_cleanup();
    return check_done();
}
