/*
 * cli_events.c - "herald events [list]": the audit trail, oldest first
 * (GET /v1/events), with each event's detail shown as name=value pairs.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli_private.h"

#define DETAIL_COLUMN 120

/* A detail value as text: strings as they are, the rest as JSON. */
static void
add_value(struct cli_buf *b, json_t *v)
{
    char *s;

    if (json_is_string(v)) {
        cli_buf_printf(b, "%s", json_string_value(v));
        return;
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s)
        cli_buf_printf(b, "%s", s);
    free(s);
}

/* "reason=revoked reason_text=access was revoked". */
static void
detail_words(json_t *detail, struct cli_buf *b)
{
    const char *name;
    json_t *v;

    cli_buf_printf(b, "%s", "");
    json_object_foreach(detail, name, v)
    {
        if (json_is_null(v))
            continue;
        cli_buf_printf(b, "%s%s=", b->len ? "  " : "", name);
        add_value(b, v);
    }
}

static void
add_event(struct cli_table *t, json_t *e)
{
    char id[24], at[40], account[24], post[24];
    char detail[DETAIL_COLUMN * 4 + 8];
    struct cli_buf words = {0};
    const char *row[6];

    cli_number(e, "id", id, sizeof(id));
    cli_number(e, "account_id", account, sizeof(account));
    cli_number(e, "post_id", post, sizeof(post));
    detail_words(json_object_get(e, "detail"), &words);
    row[0] = id;
    row[1] = cli_time(cli_str(e, "at"), at, sizeof(at));
    row[2] = cli_str(e, "type");
    row[3] = account;
    row[4] = post;
    row[5] = words.len
                 ? cli_clip(words.s, DETAIL_COLUMN, detail, sizeof(detail))
                 : NULL;
    if (t)
        cli_table_add(t, row);
    cli_buf_free(&words);
}

static int
list_events(struct cli_ctx *c, const struct cli_command *cmd,
            const struct cli_parsed *p)
{
    static const char *const query[] = {"account", "type",  "since", "until",
                                        "limit",   "after", NULL};
    static const char *const numbers[] = {"account", "limit", "after", NULL};
    static const char *const heads[] = {"ID",      "AT",   "TYPE",
                                        "ACCOUNT", "POST", "DETAIL"};
    struct cli_table *t;
    json_t *answer, *e;
    size_t i;
    int rc;

    rc = cli_get_list(c, cmd, p, "/v1/events", query, numbers, &answer);
    if (rc != CLI_OK || !answer)
        return rc;
    t = cli_table_new(6, heads);
    json_array_foreach(json_object_get(answer, "events"), i, e)
    {
        add_event(t, e);
    }
    cli_hint_next(answer);
    json_decref(answer);
    return cli_table_done(t);
}

static const struct cli_option list_options[] = {
    {"account", "ID", 0, "only the events of this account"},
    {"type", "TYPE", 0,
     "only events of this type (account.disconnected, "
     "post.published, ...)"},
    {"since", "TIME", 0, "at or after TIME (RFC 3339)"},
    {"until", "TIME", 0, "before TIME (RFC 3339)"},
    {"limit", "N", 0,
     "at most N events (1 to 1000; the daemon's default "
     "is 100)"},
    {"after", "ID", 0, "the events after this id (the next page)"},
    {"all", NULL, 0,
     "every page, not only the first (--limit sets the page size)"},
    {NULL, NULL, 0, NULL},
};

const struct cli_command cli_event_commands[] = {
    {"events", "list", 1, "", 0, "List the audit trail, oldest first",
     "DETAIL shows each event's detail as name=value pairs; --json gives "
     "them whole.",
     list_options, list_events},
    {NULL, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};
