/*
 * plugin_fuzz.c - one plugin operation per fuzz input, answered from the
 * input, with the host contract checked at the end (plugin_fuzz.h).
 *
 * The plugin is configured as the core would after validating a network
 * file that sets only the common keys: every plugin key at its schema's
 * default. It is initialised and finalised for each input, so nothing
 * carries over from one input to the next and a leak in either shows.
 */
#include "plugin_fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockhost.h"

#define MAX_ROUNDS 64 /* answers per operation before giving up */

/* The status a response's first byte picks: byte % 16, so the seeds'
 * '0'..'9' and ':'..'?' name entries 0 to 15. Below 0: a transport
 * failure of that kind, negated. */
static const long statuses[16] = {
    200,
    201,
    204,
    400,
    401,
    403,
    404,
    409,
    429,
    500,
    503,
    302,
    422,
    -HERALD_TRANSPORT_CONNECT,
    -HERALD_TRANSPORT_TIMEOUT,
    -HERALD_TRANSPORT_BROKEN,
};

/* The operations the first byte picks: byte % OP_COUNT. */
enum fuzz_op {
    OP_EXCHANGE,
    OP_IDENTITY,
    OP_REFRESH,
    OP_PUBLISH_TEXT,
    OP_PUBLISH_LINK,
    OP_PUBLISH_MEDIA,
    OP_PUBLISH_RESUME,
    OP_LOOKUP,
    OP_REVOKE,
    OP_COUNT,
};

/* The part of the input not read yet. */
struct cursor {
    const uint8_t *p;
    size_t left;
};

static void
fail(const char *what)
{
    fprintf(stderr, "plugin contract broken: %s\n", what);
    abort();
}

/* The network's file as the core would hand it: common keys given, the
 * plugin's own at their defaults unless the target sets them. */
static json_t *
make_config(const struct herald_plugin *plugin, const char *given)
{
    json_t *c =
        json_pack("{s:b,s:s,s:s,s:s,s:i,s:[]}", "enabled", 1, "client_id",
                  "fuzz-client", "client_secret", "fuzz-secret",
                  "redirect_uri", "https://herald.test/v1/oauth/net/callback",
                  "concurrency", 8, "scopes");
    json_t *scopes = json_object_get(c, "scopes");

    for (size_t i = 0; plugin->default_scopes && plugin->default_scopes[i];
         i++)
        json_array_append_new(scopes, json_string(plugin->default_scopes[i]));
    for (const struct herald_config_key *k = plugin->config_schema;
         k && k->name; k++) {
        json_t *v = k->default_json
                        ? json_loads(k->default_json, JSON_DECODE_ANY, NULL)
                        : NULL;

        if (v)
            json_object_set_new(c, k->name, v);
    }
    if (given) {
        json_t *v = json_loads(given, 0, NULL);

        if (!v)
            fail("the target's configuration is not JSON");
        json_object_update(c, v);
        json_decref(v);
    }
    return c;
}

/* Takes the next response of the input: up to the next NUL or the end. */
static int
next_response(struct cursor *cur, const uint8_t **resp, size_t *len)
{
    const uint8_t *nul;

    if (cur->left == 0)
        return -1;
    nul = memchr(cur->p, '\0', cur->left);
    *resp = cur->p;
    *len = nul ? (size_t)(nul - cur->p) : cur->left;
    cur->p += *len + (nul ? 1 : 0);
    cur->left -= *len + (nul ? 1 : 0);
    return 0;
}

/* Answers the oldest pending request with one response of the input. */
static void
answer(const uint8_t *resp, size_t len)
{
    char *text;
    char *body;
    char *headers[MOCK_MAX_HEADERS + 1] = {NULL};
    size_t count = 0;
    long status;

    if (len == 0) {
        mock_fail(HERALD_TRANSPORT_BROKEN);
        return;
    }
    status = statuses[resp[0] % 16];
    if (status < 0) {
        mock_fail((enum herald_transport) - status);
        return;
    }
    /* A NUL-terminated copy to split; the body keeps its length. */
    text = malloc(len);
    if (!text)
        fail("out of memory in the harness");
    memcpy(text, resp + 1, len - 1);
    text[len - 1] = '\0';
    body = strstr(text, "\n\n");
    if (body) {
        *body = '\0';
        body += 2;
        for (char *line = text; *line && count < MOCK_MAX_HEADERS;) {
            char *nl = strchr(line, '\n');

            if (nl)
                *nl = '\0';
            headers[count++] = line;
            line = nl ? nl + 1 : line + strlen(line);
        }
    } else {
        body = text;
    }
    mock_respond_n(status, (const char *const *)headers, body,
                   len - 1 - (size_t)(body - text));
    free(text);
}

static int
has_lookup(const struct herald_plugin *p)
{
    return p->size >=
               offsetof(struct herald_plugin, lookup) + sizeof(p->lookup) &&
           p->lookup;
}

static int
has_revoke(const struct herald_plugin *p)
{
    return p->size >=
               offsetof(struct herald_plugin, revoke) + sizeof(p->revoke) &&
           p->revoke;
}

/* What an operation borrows until it completes, as the core keeps it. */
struct op_args {
    struct herald_exchange_request ex;
    struct herald_post post;
};

/* Starts op; *kind_out says what a DONE must carry. */
static int
start(const struct herald_plugin *plugin, void *state,
      const struct fuzz_network *net, enum fuzz_op op, struct herald_op *hop,
      struct op_args *a, enum fuzz_op *kind_out)
{
    /* One image: every network here that takes images takes one. */
    static const char *const media[] = {"https://cdn.herald.test/a.jpg", NULL};
    struct herald_exchange_request *ex = &a->ex;
    struct herald_post *post = &a->post;

    ex->code = "fuzz-code";
    ex->code_verifier = plugin->capabilities & HERALD_CAP_PKCE
                            ? "fuzz-verifier-fuzz-verifier-fuzz-verifier-1"
                            : NULL;
    ex->redirect_uri = "https://herald.test/v1/oauth/net/callback";
    post->id = 42;
    post->text = "Hello from herald";

    if (op == OP_LOOKUP && !(has_lookup(plugin) && net->checkpoint))
        op = OP_PUBLISH_RESUME;
    if (op == OP_REVOKE && !has_revoke(plugin))
        op = OP_IDENTITY;
    *kind_out = op;
    /* A post with a link also names the target, if the network has
     * one, so both plain and targeted posts are reached. */
    if (op >= OP_PUBLISH_LINK) {
        post->link = "https://herald.test/a?b=c";
        post->target = net->target;
    }
    if (op >= OP_PUBLISH_MEDIA)
        post->media = media;
    if (op >= OP_PUBLISH_RESUME)
        post->checkpoint = net->checkpoint;

    switch (op) {
    case OP_EXCHANGE:
        return plugin->exchange(state, hop, ex);
    case OP_IDENTITY:
        return plugin->identity(state, hop, net->account);
    case OP_REFRESH:
        return plugin->refresh(state, hop, net->account);
    case OP_LOOKUP:
        return plugin->lookup(state, hop, net->account, post);
    case OP_REVOKE:
        return plugin->revoke(state, hop, net->account);
    default:
        return plugin->publish(state, hop, net->account, post);
    }
}

static int
nonempty(const char *s)
{
    return s && *s;
}

/* Checks the one completion against what the core relies on. */
static void
check_completion(enum fuzz_op op)
{
    const struct mock_completion *c = mock_completion();
    const struct herald_outcome *o = &c->outcome;

    if (c->completed != 1)
        fail(c->completed ? "completed more than once" : "never completed");
    if (o->kind < HERALD_OUTCOME_DONE || o->kind > HERALD_OUTCOME_UNKNOWN)
        fail("outcome kind out of range");
    if (o->kind == HERALD_OUTCOME_ACCESS_LOST &&
        (o->reason < HERALD_ACCESS_EXPIRED ||
         o->reason > HERALD_ACCESS_INVALID))
        fail("ACCESS_LOST without a reason");
    if (o->kind == HERALD_OUTCOME_RATE_LIMITED &&
        o->scope != HERALD_RATE_USER && o->scope != HERALD_RATE_APP)
        fail("RATE_LIMITED without a scope");
    if (o->kind != HERALD_OUTCOME_DONE)
        return;
    if ((op == OP_EXCHANGE || op == OP_REFRESH) &&
        !(c->has_credentials && nonempty(c->access_token)))
        fail("DONE without credentials");
    if ((op == OP_EXCHANGE || op == OP_IDENTITY) &&
        !(c->has_identity && nonempty(c->identity_id)))
        fail("DONE without an identity");
    /* A lookup may find a post published without learning its id. */
    if (op >= OP_PUBLISH_TEXT && op <= OP_PUBLISH_RESUME &&
        !nonempty(c->remote_id))
        fail("DONE publish without a remote id");
}

int
fuzz_plugin_run(const struct herald_plugin *plugin,
                const struct fuzz_network *net, const uint8_t *data,
                size_t size)
{
    struct cursor cur = {data + 1, size ? size - 1 : 0};
    json_t *config;
    struct op_args args = {0};
    struct herald_op *hop;
    enum fuzz_op op;
    void *state = NULL;
    int rounds = 0;
    int rc;

    if (size == 0)
        return 0;
    config = make_config(plugin, net->config);
    if (plugin->init(mock_host(), config, &state) != 0)
        fail("init refused the configuration");
    hop = mock_op_begin();
    rc = start(plugin, state, net, (enum fuzz_op)(data[0] % OP_COUNT), hop,
               &args, &op);
    while (rc == 0 && mock_pending() > 0 && rounds++ < MAX_ROUNDS) {
        const uint8_t *resp;
        size_t len;

        if (next_response(&cur, &resp, &len) == 0)
            answer(resp, len);
        else
            mock_fail(HERALD_TRANSPORT_CONNECT);
    }
    /* What is still in flight the core cancels at shutdown. */
    while (mock_pending() > 0)
        mock_fail(HERALD_TRANSPORT_CANCELED);
    if (rc != 0 && mock_completion()->completed != 0)
        fail("completed an operation it refused to start");
    if (rc == 0)
        check_completion(op);
    plugin->fini(state);
    json_decref(config);
    mock_op_begin();
    return 0;
}
