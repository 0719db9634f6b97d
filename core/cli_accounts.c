/*
 * cli_accounts.c - "herald accounts": list, show, connect, reauthorize
 * and remove accounts through the API (/v1/accounts, /v1/connect).
 *
 * connect and reauthorize print only the login URL on stdout, so a
 * script can hand it on; what to do with it goes to stderr.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli_private.h"

/* "Active", "Disconnected: access was revoked", ... */
static void
status_words(json_t *a, char *buf, size_t len)
{
    const char *status = cli_str(a, "status");
    const char *reason = cli_str(a, "status_reason");
    int with_reason = status && reason &&
                      (strcmp(status, "degraded") == 0 ||
                       strcmp(status, "disconnected") == 0);

    snprintf(buf, len, "%s%s%s", status ? status : "-",
             with_reason ? ": " : "", with_reason ? reason : "");
    buf[0] = (char)toupper((unsigned char)buf[0]);
}

static int
list_accounts(struct cli_ctx *c, const struct cli_command *cmd,
              const struct cli_parsed *p)
{
    static const char *const query[] = {"owner", "network", "status",
                                        "limit", "after",   NULL};
    static const char *const numbers[] = {"limit", "after", NULL};
    static const char *const heads[] = {
        "ID",      "NETWORK",       "USERNAME",      "OWNER",
        "STATUS",  "TOKEN EXPIRES", "HARD DEADLINE", "RECONNECT BY",
        "BLOCKED",
    };
    struct cli_table *t;
    json_t *answer, *a;
    size_t i;
    int rc;

    rc = cli_get_list(c, cmd, p, "/v1/accounts", query, numbers, &answer);
    if (rc != CLI_OK || !answer)
        return rc;
    t = cli_table_new(9, heads);
    json_array_foreach(json_object_get(answer, "accounts"), i, a)
    {
        char id[24], status[256], exp[40], hard[40], by[40], blocked[24];
        const char *row[] = {
            id,
            cli_str(a, "network"),
            cli_str(a, "username"),
            cli_str(json_object_get(a, "owner"), "id"),
            status,
            cli_time_of(a, "access_expires_at", exp, sizeof(exp)),
            cli_time_of(a, "hard_deadline", hard, sizeof(hard)),
            cli_time_of(a, "reconnect_deadline", by, sizeof(by)),
            blocked,
        };

        cli_number(a, "id", id, sizeof(id));
        cli_number(a, "blocked_posts", blocked, sizeof(blocked));
        status_words(a, status, sizeof(status));
        if (t)
            cli_table_add(t, row);
    }
    cli_hint_next(answer);
    json_decref(answer);
    return cli_table_done(t);
}

static void
add_targets(struct cli_table *t, json_t *targets)
{
    size_t i;
    json_t *x;

    if (json_array_size(targets) == 0)
        cli_pair(t, "targets", "-");
    json_array_foreach(targets, i, x)
    {
        char line[512];

        snprintf(line, sizeof(line), "%s  %s (%s)", cli_str(x, "id"),
                 cli_str(x, "name") ? cli_str(x, "name") : "",
                 cli_str(x, "kind") ? cli_str(x, "kind") : "target");
        cli_pair(t, i == 0 ? "targets" : "", line);
    }
}

static void
show(json_t *a)
{
    json_t *owner = json_object_get(a, "owner");
    struct cli_table *t = cli_table_new(2, NULL);
    char buf[512];

    cli_number(a, "id", buf, sizeof(buf));
    cli_pair(t, "id", buf);
    snprintf(buf, sizeof(buf), "%s (%s)", cli_str(a, "network"),
             cli_str(a, "network_name") ? cli_str(a, "network_name") : "-");
    cli_pair(t, "network", buf);
    cli_pair(t, "username", cli_str(a, "username"));
    cli_pair(t, "display name", cli_str(a, "display_name"));
    snprintf(buf, sizeof(buf), "%s%s%s%s", cli_str(owner, "id"),
             cli_str(owner, "email") ? " <" : "",
             cli_str(owner, "email") ? cli_str(owner, "email") : "",
             cli_str(owner, "email") ? ">" : "");
    cli_pair(t, "owner", buf);
    status_words(a, buf, sizeof(buf));
    cli_pair(t, "status", buf);
    cli_pair_time(t, "status changed", a, "status_changed_at");
    cli_pair_time(t, "connected", a, "connected_at");
    cli_pair_time(t, "token expires", a, "access_expires_at");
    cli_pair_time(t, "hard deadline", a, "hard_deadline");
    cli_pair_time(t, "reconnect by", a, "reconnect_deadline");
    cli_pair_time(t, "last ok", a, "last_ok_at");
    cli_number(a, "blocked_posts", buf, sizeof(buf));
    cli_pair(t, "blocked posts", buf);
    add_targets(t, json_object_get(a, "targets"));
    cli_pair_time(t, "created", a, "created_at");
    cli_table_done(t);
}

static int
show_account(struct cli_ctx *c, const struct cli_command *cmd,
             const struct cli_parsed *p)
{
    char path[64];
    json_t *answer;
    int64_t id;

    if (cli_parse_id(cmd, "an account id", p->positional[0], &id) != CLI_OK)
        return CLI_USAGE;
    snprintf(path, sizeof(path), "/v1/accounts/%lld", (long long)id);
    if (cli_call(c, "GET", path, NULL, NULL, &answer) != CLI_OK)
        return CLI_FAIL;
    if (c->json)
        cli_print_json(answer);
    else
        show(answer);
    json_decref(answer);
    return CLI_OK;
}

/* Prints a login URL answer: the URL alone on stdout, the rest on
 * stderr. */
static void
print_login(struct cli_ctx *c, json_t *answer, const char *what)
{
    char until[40];

    if (c->json) {
        cli_print_json(answer);
        return;
    }
    puts(cli_str(answer, "url") ? cli_str(answer, "url") : "");
    fprintf(stderr,
            "open this URL in the person's browser to %s; it works once, "
            "until %s\n",
            what, cli_time_of(answer, "expires_at", until, sizeof(until)));
}

static int
connect_account(struct cli_ctx *c, const struct cli_command *cmd,
                const struct cli_parsed *p)
{
    const char *owner = cli_get(p, "owner");
    char what[256];
    json_t *body, *answer;
    int rc;

    if (!owner)
        return cli_usage_error(cmd, "'accounts connect' needs --owner OWNER");
    body =
        json_pack("{s:s,s:s,s:s?,s:s?}", "network", p->positional[0],
                  "owner_id", owner, "owner_email", cli_get(p, "owner-email"),
                  "return_url", cli_get(p, "return-url"));
    rc = cli_call(c, "POST", "/v1/connect", body, NULL, &answer);
    json_decref(body);
    if (rc != CLI_OK)
        return rc;
    snprintf(what, sizeof(what), "connect their %s account for '%s'",
             p->positional[0], owner);
    print_login(c, answer, what);
    json_decref(answer);
    return CLI_OK;
}

static int
reauthorize_account(struct cli_ctx *c, const struct cli_command *cmd,
                    const struct cli_parsed *p)
{
    const char *return_url = cli_get(p, "return-url");
    json_t *body = NULL, *answer;
    char path[80], what[96];
    int64_t id;
    int rc;

    if (cli_parse_id(cmd, "an account id", p->positional[0], &id) != CLI_OK)
        return CLI_USAGE;
    snprintf(path, sizeof(path), "/v1/accounts/%lld/reauthorize",
             (long long)id);
    if (return_url)
        body = json_pack("{s:s}", "return_url", return_url);
    rc = cli_call(c, "POST", path, body, NULL, &answer);
    json_decref(body);
    if (rc != CLI_OK)
        return rc;
    snprintf(what, sizeof(what),
             "reconnect account %lld (as the same identity)", (long long)id);
    print_login(c, answer, what);
    json_decref(answer);
    return CLI_OK;
}

static int
remove_account(struct cli_ctx *c, const struct cli_command *cmd,
               const struct cli_parsed *p)
{
    const char *revocation, *message;
    json_t *answer;
    char path[64];
    int64_t id;

    if (cli_parse_id(cmd, "an account id", p->positional[0], &id) != CLI_OK)
        return CLI_USAGE;
    snprintf(path, sizeof(path), "/v1/accounts/%lld", (long long)id);
    if (cli_call(c, "DELETE", path, NULL, NULL, &answer) != CLI_OK)
        return CLI_FAIL;
    if (c->json) {
        cli_print_json(answer);
        json_decref(answer);
        return CLI_OK;
    }
    revocation = cli_str(answer, "revocation");
    message = cli_str(answer, "message");
    printf("account %lld removed; revocation at the network: %s%s%s%s\n",
           (long long)id, revocation ? revocation : "-", message ? " (" : "",
           message ? message : "", message ? ")" : "");
    json_decref(answer);
    return CLI_OK;
}

static const struct cli_option list_options[] = {
    {"owner", "O", 0, "only the accounts of this owner id"},
    {"network", "N", 0, "only the accounts on this network"},
    {"status", "S", 0,
     "pending, active, degraded, disconnected or removed (removed accounts "
     "are listed only with this)"},
    {"limit", "N", 0,
     "at most N accounts (1 to 500; the daemon's default "
     "is 50)"},
    {"after", "ID", 0, "the accounts after this id (the next page)"},
    {"all", NULL, 0,
     "every page, not only the first (--limit sets the page size)"},
    {NULL, NULL, 0, NULL},
};

static const struct cli_option connect_options[] = {
    {"owner", "OWNER", 0, "the calling app's id of the person (required)"},
    {"owner-email", "EMAIL", 0, "where notices about the account go"},
    {"return-url", "URL", 0,
     "where the browser goes afterwards; must start with one of the "
     "engine's return_urls"},
    {NULL, NULL, 0, NULL},
};

static const struct cli_option reauthorize_options[] = {
    {"return-url", "URL", 0,
     "where the browser goes afterwards; must start with one of the "
     "engine's return_urls"},
    {NULL, NULL, 0, NULL},
};

const struct cli_command cli_account_commands[] = {
    {"accounts", "list", 1, "", 0, "List the accounts, by increasing id",
     "STATUS is Active, Degraded or Disconnected (with the reason), Pending "
     "or Removed;\nBLOCKED counts the posts held until the account is "
     "reconnected. Times are UTC.",
     list_options, list_accounts},
    {"accounts", "show", 0, "ID", 1, "Show one account", NULL, NULL,
     show_account},
    {"accounts", "connect", 0, "NETWORK", 1,
     "Start connecting an account: print the login URL",
     "Prints only the login URL on stdout; send the person's browser "
     "there.\nThe URL works once, for ten minutes.",
     connect_options, connect_account},
    {"accounts", "reauthorize", 0, "ID", 1,
     "Start reconnecting an account: print the login URL",
     "The person must log in as the same identity on the network. Prints "
     "only\nthe login URL on stdout.",
     reauthorize_options, reauthorize_account},
    {"accounts", "remove", 0, "ID", 1,
     "Remove an account, erasing its credentials",
     "Where the network allows it, the daemon also revokes the tokens "
     "there.",
     NULL, remove_account},
    {NULL, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};
