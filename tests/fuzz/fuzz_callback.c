/*
 * fuzz_callback.c - the OAuth callback, fuzzed: its query (state, code,
 * error), the network's answer to the code exchange, and the answer the
 * person gets.
 *
 * A real store in a private directory and one network, played by a
 * plugin defined here, stand for the daemon. Each input starts an
 * authorization (core/oauth.c, herald_oauth_start(), with the input's
 * return URL), then calls back herald_oauth_finish() with the issued
 * state or the input's own, the input's code, error and description. The
 * plugin's exchange completes at once with the input's outcome and
 * identity. The result is answered as core/api_oauth.c does: the HTML
 * page and, with a return URL, the redirect.
 *
 * An input is one flags byte, then NUL-separated fields: state, code,
 * error, error_description, return_url, remote id, username, message.
 * An empty field is absent. Flags: bit 0 presents the issued state
 * rather than the input's, bits 1-3 pick the exchange's outcome kind
 * (0 and 1: DONE), bit 4 gives the identity no username, bit 5 names
 * another network in the callback.
 *
 * Besides crashes, leaks and reads out of bounds: the callback must be
 * answered exactly once, connect only with the issued state and a code,
 * and its page must be whole.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "api_private.h"
#include "hostapi.h"
#include "log.h"
#include "oauth.h"

#define FIELDS 8

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the current input makes the network answer. */
static struct {
    enum herald_outcome_kind kind;
    const char *remote_id;
    const char *username;
    const char *message;
    int exchanges;
} network;

static char *issued_state; /* the state of the last authorize_url */

static struct herald_daemon d; /* as much of a daemon as a callback uses */
static struct herald_config config;
static struct herald_network net;
static char dir[] = "/tmp/herald-fuzz-callback-XXXXXX";

static void
fail(const char *what)
{
    fprintf(stderr, "callback: %s\n", what);
    abort();
}

static int
net_init(const struct herald_host *host, const json_t *cfg, void **state)
{
    (void)host;
    (void)cfg;
    *state = NULL;
    return 0;
}

static void
net_fini(void *state)
{
    (void)state;
}

static int
net_authorize_url(void *state, const struct herald_authorize_request *req,
                  char **url)
{
    (void)state;
    free(issued_state);
    issued_state = strdup(req->state);
    *url = strdup("https://login.fuzz.test/authorize");
    return issued_state && *url ? 0 : -1;
}

static int
net_exchange(void *state, struct herald_op *op,
             const struct herald_exchange_request *req)
{
    struct herald_outcome out = {.kind = network.kind,
                                 .message = network.message};
    struct herald_credentials creds = {.access_token = "fuzz-access-token"};
    struct herald_identity id = {.id = network.remote_id,
                                 .username = network.username,
                                 .display_name = network.username};
    struct herald_result res = {.credentials = &creds, .identity = &id};

    (void)state;
    if (!req->code || !*req->code)
        fail("exchange without a code");
    network.exchanges++;
    if (out.kind == HERALD_OUTCOME_ACCESS_LOST)
        out.reason = HERALD_ACCESS_REVOKED;
    if (out.kind == HERALD_OUTCOME_RATE_LIMITED)
        out.scope = HERALD_RATE_APP;
    herald_host_api()->complete(op, &out,
                                out.kind == HERALD_OUTCOME_DONE ? &res : NULL);
    return 0;
}

static int
net_unused(void *state, struct herald_op *op,
           const struct herald_account *account)
{
    (void)state;
    (void)op;
    (void)account;
    return -1;
}

static int
net_publish(void *state, struct herald_op *op,
            const struct herald_account *account,
            const struct herald_post *post)
{
    (void)post;
    return net_unused(state, op, account);
}

static const struct herald_content_rules rules = {.max_text = 100};

static const struct herald_plugin plugin = {
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR,
    .size = sizeof(struct herald_plugin),
    .signature = HERALD_BUILD_SIGNATURE,
    .name = "fuzznet",
    .display_name = "Fuzz & <Net>",
    .capabilities = HERALD_CAP_PKCE,
    .content = &rules,
    .init = net_init,
    .fini = net_fini,
    .authorize_url = net_authorize_url,
    .exchange = net_exchange,
    .identity = net_unused,
    .refresh = net_unused,
    .publish = net_publish,
};

/* Closes the store and removes its directory when the run ends. */
static void
remove_files(void)
{
    static const char *const names[] = {"key", "herald.db", "herald.db-wal",
                                        "herald.db-shm"};
    char path[sizeof(dir) + 32];

    herald_store_close(d.store);
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char allowed[] = "https://app.fuzz.test/done";
    static char *return_urls[] = {allowed, NULL};
    struct herald_error err = {""};
    char path[sizeof(dir) + 16];
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

    (void)argc;
    (void)argv;
    /* The log would only slow the run down. */
    if (null_fd >= 0)
        herald_log_set_fd(null_fd);
    if (herald_crypto_init() != 0 || !mkdtemp(dir))
        fail("cannot set up");
    snprintf(path, sizeof(path), "%s/key", dir);
    if (herald_key_generate_file(path, &err) != 0 ||
        herald_key_load(path, &d.key, &err) != 0)
        fail(err.msg);
    snprintf(path, sizeof(path), "%s/herald.db", dir);
    if (herald_store_open(path, "normal", 1000, &d.key, &d.store, &err) != 0)
        fail(err.msg);

    config.return_urls = return_urls;
    config.return_url_count = 1;
    d.cfg = &config;
    net.plugin = &plugin;
    net.config = json_pack("{s:s}", "redirect_uri",
                           "https://herald.test/v1/oauth/fuzznet/callback");
    net.enabled = 1;
    atexit(remove_files);
    net.initialised = 1;
    d.registry.networks = &net;
    d.registry.count = 1;
    herald_host_init(&d);
    return 0;
}

/* How the callback was answered. */
struct answer {
    int calls;
    unsigned status;
    int64_t account_id;
};

/* Answers as core/api_oauth.c does, with the page and redirect built. */
static void
done(const struct herald_oauth_result *r, void *udata)
{
    struct answer *a = udata;
    size_t len = 0;
    char *page;

    a->calls++;
    a->status = r->status;
    a->account_id = r->account_id;
    if (!r->code || !r->message)
        fail("an answer without a code or message");
    page = herald_api_callback_page(r, &len);
    if (!page || len != strlen(page) ||
        !strstr(page, "</p>\n<p>You can close this window.</p>\n</body>"))
        fail("the page is not whole");
    free(page);
    if (r->return_url && *r->return_url) {
        char *location = herald_api_callback_location(r);

        if (!location || strncmp(location, "Location: ", 10) != 0)
            fail("no redirect");
        free(location);
    }
}

/* Splits the input after its flags byte into NUL-separated fields. */
static void
split(char *text, size_t len, const char *fields[FIELDS])
{
    char *p = text;

    for (size_t i = 0; i < FIELDS; i++) {
        fields[i] = NULL;
        if (p > text + len)
            continue;
        fields[i] = *p ? p : NULL;
        p += strlen(p) + 1;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct herald_oauth_request start = {.network = "fuzznet",
                                         .owner_id = "owner-1",
                                         .owner_email = "o@fuzz.test"};
    struct herald_oauth_callback cb;
    struct herald_error err = {""};
    struct answer answer = {0};
    const char *f[FIELDS];
    char *text, *url = NULL;
    int started;
    uint8_t flags;

    if (size == 0)
        return 0;
    flags = data[0];
    text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    split(text, size - 1, f);

    start.return_url = f[4];
    free(issued_state);
    issued_state = NULL;
    started = herald_oauth_start(&d, &start, &url, &err) == 0;
    free(url);

    network.kind = (flags >> 1 & 7) < 2
                       ? HERALD_OUTCOME_DONE
                       : (enum herald_outcome_kind)((flags >> 1 & 7) + 1);
    network.remote_id = f[5];
    network.username = flags & 16 ? NULL : f[6];
    network.message = f[7];
    network.exchanges = 0;
    cb.state = flags & 1 && started ? issued_state : f[0];
    cb.code = f[1];
    cb.error = f[2];
    cb.error_description = f[3];
    herald_oauth_finish(&d, flags & 32 ? "othernet" : "fuzznet", &cb, done,
                        &answer);

    if (answer.calls != 1)
        fail("the callback was not answered exactly once");
    if (answer.status == 200 &&
        !(started && cb.state == issued_state && cb.code && !cb.error &&
          network.kind == HERALD_OUTCOME_DONE && network.remote_id &&
          answer.account_id > 0))
        fail("connected without a valid state, code and identity");
    if (network.exchanges > 1)
        fail("the code was exchanged twice");
    free(text);
    return 0;
}
