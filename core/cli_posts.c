/*
 * cli_posts.c - "herald posts": create, validate, list, show, cancel and
 * retry posts through the API (/v1/posts).
 *
 * create and validate build the same body from the same options; an
 * account given as ID:TARGET names a posting target (a Facebook Page, a
 * LinkedIn organization) for that account.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_private.h"

#define MAX_TARGETS 100
#define MAX_MEDIA   20
#define TEXT_COLUMN 40

/* One --account: "12" or "12:TARGET". Returns a new reference or NULL
 * after a usage error. */
static json_t *
read_account(const struct cli_command *cmd, const char *arg)
{
    const char *colon = strchr(arg, ':');
    char id_text[32];
    int64_t id;

    if (colon && (size_t)(colon - arg) >= sizeof(id_text)) {
        cli_usage_error(cmd, "'%s' is not an account id", arg);
        return NULL;
    }
    snprintf(id_text, sizeof(id_text), "%.*s",
             (int)(colon ? colon - arg : (long)strlen(arg)), arg);
    if (cli_parse_id(cmd, "an account id (ID or ID:TARGET)", id_text, &id))
        return NULL;
    if (!colon)
        return json_integer(id);
    if (!colon[1]) {
        cli_usage_error(cmd, "'%s' names no target after ':'", arg);
        return NULL;
    }
    return json_pack("{s:I,s:s}", "id", (json_int_t)id, "target", colon + 1);
}

static int
read_accounts(const struct cli_command *cmd, const struct cli_parsed *p,
              json_t *body)
{
    const char *given[CLI_MAX_GIVEN];
    size_t n = cli_get_all(p, "account", given, CLI_MAX_GIVEN);
    json_t *accounts = json_array();

    json_object_set_new(body, "accounts", accounts);
    if (n == 0)
        return cli_usage_error(cmd, "'posts %s' needs --account ID",
                               cmd->name);
    if (n > MAX_TARGETS)
        return cli_usage_error(cmd, "at most %d --account options",
                               MAX_TARGETS);
    for (size_t i = 0; i < n; i++) {
        json_t *a = read_account(cmd, given[i]);

        if (!a)
            return CLI_USAGE;
        json_array_append_new(accounts, a);
    }
    return CLI_OK;
}

static int
read_expiry(const struct cli_command *cmd, const char *s, json_t *body)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end || errno)
        return cli_usage_error(cmd,
                               "--expire-after needs a number of seconds "
                               "(0: publish however late), not '%s'",
                               s);
    json_object_set_new(body, "expire_after_s", json_integer(v));
    return CLI_OK;
}

/* The body of a create or validate. Returns CLI_OK with *out (new). */
static int
build_post(const struct cli_command *cmd, const struct cli_parsed *p,
           json_t **out)
{
    const char *media[CLI_MAX_GIVEN];
    size_t nmedia = cli_get_all(p, "media", media, CLI_MAX_GIVEN);
    json_t *body = json_object(), *list = json_array();
    const char *expiry = cli_get(p, "expire-after");
    int rc = read_accounts(cmd, p, body);

    for (size_t i = 0; i < nmedia && i < CLI_MAX_GIVEN; i++)
        json_array_append_new(list, json_string(media[i]));
    if (rc == CLI_OK && nmedia > MAX_MEDIA)
        rc = cli_usage_error(cmd, "at most %d --media options", MAX_MEDIA);
    if (rc == CLI_OK && expiry)
        rc = read_expiry(cmd, expiry, body);
    if (cli_get(p, "text"))
        json_object_set_new(body, "text", json_string(cli_get(p, "text")));
    if (cli_get(p, "link"))
        json_object_set_new(body, "link", json_string(cli_get(p, "link")));
    if (cli_get(p, "at"))
        json_object_set_new(body, "scheduled_at",
                            json_string(cli_get(p, "at")));
    if (nmedia)
        json_object_set(body, "media", list);
    json_decref(list);
    if (rc != CLI_OK) {
        json_decref(body);
        return rc;
    }
    *out = body;
    return CLI_OK;
}

static void
print_warnings(json_t *answer)
{
    size_t i;
    json_t *w;

    json_array_foreach(json_object_get(answer, "warnings"), i, w)
    {
        fprintf(
            stderr, "warning: account %lld: %s: %s\n",
            (long long)json_integer_value(json_object_get(w, "account_id")),
            cli_str(w, "code"), cli_str(w, "message"));
    }
}

static int
create_post(struct cli_ctx *c, const struct cli_command *cmd,
            const struct cli_parsed *p)
{
    static const char *const heads[] = {"ID", "ACCOUNT", "STATUS",
                                        "SCHEDULED"};
    const char *key = cli_get(p, "idempotency-key");
    struct cli_table *t;
    json_t *body, *answer, *post;
    size_t i;
    int rc;

    if (key && key[strcspn(key, "\r\n")])
        return cli_usage_error(cmd, "--idempotency-key must be one line");
    if (build_post(cmd, p, &body) != CLI_OK)
        return CLI_USAGE;
    rc = cli_call(c, "POST", "/v1/posts", body, key, &answer);
    json_decref(body);
    if (rc != CLI_OK)
        return rc;
    if (c->json) {
        cli_print_json(answer);
        json_decref(answer);
        return CLI_OK;
    }
    t = cli_table_new(4, heads);
    json_array_foreach(json_object_get(answer, "posts"), i, post)
    {
        char id[24], account[24], when[40];
        const char *row[] = {
            id, account, cli_str(post, "status"),
            cli_time(cli_str(post, "scheduled_at"), when, sizeof(when))};

        cli_number(post, "id", id, sizeof(id));
        cli_number(post, "account_id", account, sizeof(account));
        if (t)
            cli_table_add(t, row);
    }
    print_warnings(answer);
    json_decref(answer);
    return cli_table_done(t);
}

static int
validate_post(struct cli_ctx *c, const struct cli_command *cmd,
              const struct cli_parsed *p)
{
    json_t *body, *answer;
    int rc, valid;

    if (build_post(cmd, p, &body) != CLI_OK)
        return CLI_USAGE;
    rc = cli_call(c, "POST", "/v1/posts/validate", body, NULL, &answer);
    json_decref(body);
    if (rc != CLI_OK)
        return rc;
    valid = json_is_true(json_object_get(answer, "valid"));
    if (c->json)
        cli_print_json(answer);
    else if (valid)
        printf("valid: the post can be created for %zu account(s)\n",
               cli_get_all(p, "account", NULL, 0));
    if (!valid) {
        fputs("herald: the post is not valid:\n", stderr);
        cli_print_problems(json_object_get(answer, "problems"));
    }
    print_warnings(answer);
    json_decref(answer);
    return valid ? CLI_OK : CLI_FAIL;
}

static int
list_posts(struct cli_ctx *c, const struct cli_command *cmd,
           const struct cli_parsed *p)
{
    static const char *const query[] = {"status",  "account", "owner",
                                        "network", "since",   "until",
                                        "limit",   "after",   NULL};
    static const char *const numbers[] = {"account", "limit", "after", NULL};
    static const char *const heads[] = {
        "ID",        "ACCOUNT",  "NETWORK", "STATUS",
        "SCHEDULED", "ATTEMPTS", "TEXT",    "REASON",
    };
    struct cli_table *t;
    json_t *answer, *post;
    size_t i;
    int rc;

    rc = cli_get_list(c, cmd, p, "/v1/posts", query, numbers, &answer);
    if (rc != CLI_OK || !answer)
        return rc;
    t = cli_table_new(8, heads);
    json_array_foreach(json_object_get(answer, "posts"), i, post)
    {
        char id[24], account[24], when[40], attempts[24];
        char text[TEXT_COLUMN * 4 + 8], reason[TEXT_COLUMN * 4 + 8];
        const char *row[] = {
            id,
            account,
            cli_str(post, "network"),
            cli_str(post, "status"),
            cli_time(cli_str(post, "scheduled_at"), when, sizeof(when)),
            attempts,
            cli_clip(cli_str(post, "text"), TEXT_COLUMN, text, sizeof(text)),
            cli_str(post, "reason")
                ? cli_clip(cli_str(post, "reason"), TEXT_COLUMN, reason,
                           sizeof(reason))
                : NULL,
        };

        cli_number(post, "id", id, sizeof(id));
        cli_number(post, "account_id", account, sizeof(account));
        cli_number(post, "attempts", attempts, sizeof(attempts));
        if (t)
            cli_table_add(t, row);
    }
    cli_hint_next(answer);
    json_decref(answer);
    return cli_table_done(t);
}

static void
add_media(struct cli_table *t, json_t *media)
{
    size_t i;
    json_t *m;

    if (json_array_size(media) == 0)
        cli_pair(t, "media", "-");
    json_array_foreach(media, i, m)
    {
        cli_pair(t, i == 0 ? "media" : "", json_string_value(m));
    }
}

static void
show_attempts(json_t *attempts)
{
    static const char *const heads[] = {"STARTED", "ENDED", "OUTCOME", "HTTP",
                                        "MESSAGE"};
    struct cli_table *t;
    size_t i;
    json_t *a;

    if (json_array_size(attempts) == 0)
        return;
    puts("\nattempts:");
    t = cli_table_new(5, heads);
    json_array_foreach(attempts, i, a)
    {
        char started[40], ended[40], status[24], message[512];
        const char *row[] = {
            cli_time(cli_str(a, "started_at"), started, sizeof(started)),
            cli_time(cli_str(a, "ended_at"), ended, sizeof(ended)),
            cli_str(a, "outcome"),
            status,
            cli_str(a, "message") ? cli_clip(cli_str(a, "message"), 100,
                                             message, sizeof(message))
                                  : NULL,
        };

        cli_number(a, "http_status", status, sizeof(status));
        if (t)
            cli_table_add(t, row);
    }
    cli_table_done(t);
}

static void
show(json_t *post)
{
    struct cli_table *t = cli_table_new(2, NULL);
    char buf[4096];

    cli_number(post, "id", buf, sizeof(buf));
    cli_pair(t, "id", buf);
    cli_number(post, "account_id", buf, sizeof(buf));
    cli_pair(t, "account", buf);
    cli_pair(t, "network", cli_str(post, "network"));
    cli_pair(t, "owner", cli_str(post, "owner_id"));
    cli_pair(t, "target", cli_str(post, "target"));
    cli_pair(t, "status", cli_str(post, "status"));
    cli_pair(t, "reason", cli_str(post, "reason"));
    cli_pair(t, "text",
             cli_clip(cli_str(post, "text"), 1000, buf, sizeof(buf)));
    cli_pair(t, "link", cli_str(post, "link"));
    add_media(t, json_object_get(post, "media"));
    cli_pair_time(t, "scheduled", post, "scheduled_at");
    cli_pair_time(t, "next attempt", post, "next_attempt_at");
    cli_number(post, "attempts", buf, sizeof(buf));
    cli_pair(t, "attempts", buf);
    cli_pair(t, "remote id", cli_str(post, "remote_id"));
    cli_pair(t, "remote url", cli_str(post, "remote_url"));
    cli_pair_time(t, "created", post, "created_at");
    cli_pair_time(t, "updated", post, "updated_at");
    cli_table_done(t);
    show_attempts(json_object_get(post, "attempts_detail"));
}

/* GET or POST /v1/posts/ID[/action], printing the post it answers. */
static int
one_post(struct cli_ctx *c, const struct cli_command *cmd,
         const struct cli_parsed *p, const char *action)
{
    char path[96];
    json_t *answer;
    int64_t id;

    if (cli_parse_id(cmd, "a post id", p->positional[0], &id) != CLI_OK)
        return CLI_USAGE;
    snprintf(path, sizeof(path), "/v1/posts/%lld%s%s", (long long)id,
             action ? "/" : "", action ? action : "");
    if (cli_call(c, action ? "POST" : "GET", path, NULL, NULL, &answer) !=
        CLI_OK)
        return CLI_FAIL;
    if (c->json)
        cli_print_json(answer);
    else if (!action)
        show(answer);
    else
        printf("post %lld is now %s\n", (long long)id,
               cli_str(answer, "status"));
    json_decref(answer);
    return CLI_OK;
}

static int
show_post(struct cli_ctx *c, const struct cli_command *cmd,
          const struct cli_parsed *p)
{
    return one_post(c, cmd, p, NULL);
}

static int
cancel_post(struct cli_ctx *c, const struct cli_command *cmd,
            const struct cli_parsed *p)
{
    return one_post(c, cmd, p, "cancel");
}

static int
retry_post(struct cli_ctx *c, const struct cli_command *cmd,
           const struct cli_parsed *p)
{
    return one_post(c, cmd, p, "retry");
}

#define POST_OPTIONS                                                          \
    {"account", "ID[:TARGET]", 1,                                             \
     "an account to post to, with a target (a Page, an organization) "        \
     "after ':'; repeat for more (1 to 100)"},                                \
        {"text", "TEXT", 0, "the text"}, {"link", "URL", 0, "a link"},        \
        {"media", "URL", 1, "an image URL; repeat for more (at most 20)"},    \
        {"at", "TIME", 0,                                                     \
         "when to publish, RFC 3339 (2026-12-03T16:40:00Z); default now"},    \
        {"expire-after", "SECONDS", 0,                                        \
         "expire the post if it would go out this late (0: never)"},          \
    {                                                                         \
        "idempotency-key", "K", 0,                                            \
            "the same key and post answer the first create again"             \
    }

static const struct cli_option create_options[] = {
    POST_OPTIONS,
    {NULL, NULL, 0, NULL},
};

static const struct cli_option list_options[] = {
    {"status", "S", 0,
     "scheduled, queued, publishing, published, retrying, blocked, failed, "
     "canceled, expired or unknown"},
    {"account", "ID", 0, "only the posts of this account"},
    {"owner", "O", 0, "only the posts of this owner id"},
    {"network", "N", 0, "only the posts on this network"},
    {"since", "TIME", 0, "scheduled at or after TIME (RFC 3339)"},
    {"until", "TIME", 0, "scheduled before TIME (RFC 3339)"},
    {"limit", "N", 0,
     "at most N posts (1 to 500; the daemon's default is "
     "50)"},
    {"after", "ID", 0, "the posts after this id (the next page)"},
    {"all", NULL, 0,
     "every page, not only the first (--limit sets the page size)"},
    {NULL, NULL, 0, NULL},
};

const struct cli_command cli_post_commands[] = {
    {"posts", "list", 1, "", 0, "List posts, by increasing id", NULL,
     list_options, list_posts},
    {"posts", "show", 0, "ID", 1, "Show one post with its attempts", NULL,
     NULL, show_post},
    {"posts", "create", 0, "", 0, "Create a post for one or more accounts",
     "Prints the posts made, one per account; warnings (such as a "
     "disconnected\naccount, whose post is held) go to stderr.",
     create_options, create_post},
    {"posts", "validate", 0, "", 0,
     "Check a post as create would, creating nothing",
     "Exits 0 when the post is valid, 1 with every problem listed when it "
     "is not.\n--idempotency-key is accepted and not used.",
     create_options, validate_post},
    {"posts", "cancel", 0, "ID", 1,
     "Cancel a scheduled, queued, retrying or blocked post", NULL, NULL,
     cancel_post},
    {"posts", "retry", 0, "ID", 1,
     "Schedule a failed or unknown post again, now", NULL, NULL, retry_post},
    {NULL, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};
