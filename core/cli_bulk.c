/*
 * cli_bulk.c - "herald bulk": release, cancel or retry many posts of one
 * account or of a whole network at once
 * (/v1/accounts/ID/... and /v1/networks/NAME/...).
 */
#include <stdio.h>

#include "cli_private.h"

static int
bulk(struct cli_ctx *c, const struct cli_command *cmd,
     const struct cli_parsed *p, const char *action, const char *done)
{
    const char *account = cli_get(p, "account");
    const char *network = cli_get(p, "network");
    struct cli_buf path = {0};
    json_t *answer;
    int64_t id = 0;
    int rc;

    if (!account == !network)
        return cli_usage_error(cmd,
                               "'bulk %s' needs either --account ID "
                               "or --network NAME",
                               cmd->name);
    if (account && cli_parse_id(cmd, "an account id", account, &id) != CLI_OK)
        return CLI_USAGE;
    if (account)
        rc = cli_buf_printf(&path, "/v1/accounts/%lld/%s", (long long)id,
                            action);
    else if ((rc = cli_buf_printf(&path, "/v1/networks/")) == 0 &&
             (rc = cli_buf_escape(&path, network)) == 0)
        rc = cli_buf_printf(&path, "/%s", action);
    rc = rc == 0 ? cli_call(c, "POST", path.s, NULL, NULL, &answer) : CLI_FAIL;
    cli_buf_free(&path);
    if (rc != CLI_OK)
        return rc;
    if (c->json)
        cli_print_json(answer);
    else
        printf("%lld post(s) %s\n",
               (long long)json_integer_value(json_object_get(answer, "moved")),
               done);
    json_decref(answer);
    return CLI_OK;
}

static int
bulk_release(struct cli_ctx *c, const struct cli_command *cmd,
             const struct cli_parsed *p)
{
    return bulk(c, cmd, p, "release", "released to the queue");
}

static int
bulk_cancel(struct cli_ctx *c, const struct cli_command *cmd,
            const struct cli_parsed *p)
{
    return bulk(c, cmd, p, "cancel-blocked", "canceled");
}

static int
bulk_retry(struct cli_ctx *c, const struct cli_command *cmd,
           const struct cli_parsed *p)
{
    return bulk(c, cmd, p, "retry-failed", "scheduled again");
}

static const struct cli_option options[] = {
    {"account", "ID", 0, "the posts of this account"},
    {"network", "NAME", 0, "the posts of every account of this network"},
    {NULL, NULL, 0, NULL},
};

const struct cli_command cli_bulk_commands[] = {
    {"bulk", "release", 0, "", 0, "Queue blocked posts again, now",
     "For an account, it must be active or degraded (reconnecting an "
     "account\nreleases its posts by itself). For a network, the posts of "
     "accounts still\ndisconnected are blocked again at their turn. Give "
     "--account or --network.",
     options, bulk_release},
    {"bulk", "cancel", 0, "", 0, "Cancel blocked posts",
     "Give --account or --network.", options, bulk_cancel},
    {"bulk", "retry", 0, "", 0, "Schedule failed and unknown posts again, now",
     "Give --account or --network.", options, bulk_retry},
    {NULL, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};
