/*
 * cli_networks.c - "herald networks [list]": the network plugins the
 * daemon loaded and what each declares (GET /v1/networks).
 */
#include <stdio.h>
#include <string.h>

#include "cli_private.h"

static const char *
enabled_words(json_t *n)
{
    if (json_is_true(json_object_get(n, "enabled")))
        return "yes";
    if (json_is_true(json_object_get(n, "configured")))
        return "no";
    return "not configured";
}

/* "280 weighted", "3000 codepoints". */
static void
text_rule(json_t *content, char *buf, size_t len)
{
    snprintf(
        buf, len, "%lld %s",
        (long long)json_integer_value(json_object_get(content, "max_text")),
        cli_str(content, "counting") ? cli_str(content, "counting") : "");
}

/* "none", "allowed (up to 4)", "required (up to 1)". */
static void
media_rule(json_t *content, char *buf, size_t len)
{
    const char *media = cli_str(content, "media");
    json_int_t max = json_integer_value(json_object_get(content, "max_media"));

    if (!media || max <= 0)
        snprintf(buf, len, "%s", media ? media : "-");
    else
        snprintf(buf, len, "%s (up to %lld)", media, (long long)max);
}

static int
list_networks(struct cli_ctx *c, const struct cli_command *cmd,
              const struct cli_parsed *p)
{
    static const char *const heads[] = {
        "NAME", "DISPLAY NAME", "ENABLED", "TOKEN MODEL",
        "TEXT", "MEDIA",        "VERSION",
    };
    struct cli_table *t;
    json_t *answer, *n;
    size_t i;

    (void)cmd;
    (void)p;
    if (cli_call(c, "GET", "/v1/networks", NULL, NULL, &answer) != CLI_OK)
        return CLI_FAIL;
    if (c->json) {
        cli_print_json(answer);
        json_decref(answer);
        return CLI_OK;
    }
    t = cli_table_new(7, heads);
    json_array_foreach(json_object_get(answer, "networks"), i, n)
    {
        json_t *content = json_object_get(n, "content");
        char text[64], media[64];
        const char *row[7];

        text_rule(content, text, sizeof(text));
        media_rule(content, media, sizeof(media));
        row[0] = cli_str(n, "name");
        row[1] = cli_str(n, "display_name");
        row[2] = enabled_words(n);
        row[3] = cli_str(n, "token_model");
        row[4] = text;
        row[5] = media;
        row[6] = cli_str(n, "version");
        if (t)
            cli_table_add(t, row);
    }
    json_decref(answer);
    return cli_table_done(t);
}

const struct cli_command cli_network_commands[] = {
    {"networks", "list", 1, "", 0,
     "List the loaded network plugins and what each allows", NULL, NULL,
     list_networks},
    {NULL, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};
