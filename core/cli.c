/*
 * cli.c - the command-line client's entry: finds the command in argv,
 * reads its options (the global ones anywhere), prints help at every
 * level, finds the daemon and runs the command.
 *
 *   herald [global options] COMMAND [SUBCOMMAND] [options]
 *
 * The commands themselves live in cli_networks.c, cli_accounts.c,
 * cli_posts.c, cli_bulk.c and cli_events.c; each describes itself in a
 * table of struct cli_command, from which usage and help are printed
 * too. The helpers the commands share for their arguments are here as
 * well; those for printing are in cli_print.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "cli_private.h"

static const struct cli_option globals[] = {
    {"url", "URL", 0, "daemon address"},
    {"api-key", "KEY", 0, "API key"},
    {"config", "FILE", 0, "engine config to read the address and key from"},
    {"json", NULL, 0, "print the daemon's JSON answers instead of tables"},
    {NULL, NULL, 0, NULL},
};

/* The commands, in the order help lists them. */
static const struct {
    const char *name;
    const char *summary;
    const struct cli_command *commands;
} groups[] = {
    {"networks", "The loaded network plugins", cli_network_commands},
    {"accounts",
     "Connected accounts: list, show, connect, reauthorize, "
     "remove",
     cli_account_commands},
    {"posts", "Posts: create, validate, list, show, cancel, retry",
     cli_post_commands},
    {"bulk", "Many posts of one account or network at once",
     cli_bulk_commands},
    {"events", "The audit trail", cli_event_commands},
};

#define GROUPS (sizeof(groups) / sizeof(*groups))

static int
find_group(const char *name)
{
    for (size_t i = 0; i < GROUPS; i++) {
        if (strcmp(groups[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/* The index of the first argument from i on that is neither a global
 * option (with its value) nor a request for help. */
static int
skip_globals(int argc, char **argv, int i)
{
    int next;

    while (i < argc) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            i++;
        else if (cli_find_option(globals, argv[i], &next))
            i += 1 + next;
        else
            break;
    }
    return i;
}

int
herald_cli_claims(int argc, char **argv)
{
    int next, i = skip_globals(argc, argv, 1);

    if (i < argc && find_group(argv[i]) >= 0)
        return 1;
    return argc > 1 && cli_find_option(globals, argv[1], &next) != NULL;
}

/* Prints left in a column of width 26 after two spaces, then text
 * wrapped to 79 columns, its further lines under the first. */
static void
print_entry(FILE *out, const char *left, const char *text)
{
    const size_t indent = 29, width = 79 - indent;
    size_t col = 0;

    fprintf(out, "  %-26s ", left);
    if (strlen(left) > 26) {
        fprintf(out, "\n%*s", (int)indent, "");
    }
    while (*text) {
        size_t word = strcspn(text, " ");

        if (col > 0 && col + 1 + word > width) {
            fprintf(out, "\n%*s", (int)indent, "");
            col = 0;
        } else if (col > 0) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", (int)word, text);
        col += word;
        text += word;
        text += strspn(text, " ");
    }
    fputc('\n', out);
}

static void
print_options(const struct cli_option *o, FILE *out)
{
    for (; o && o->name; o++) {
        char left[64];

        snprintf(left, sizeof(left), "--%s%s%s", o->name,
                 o->metavar ? " " : "", o->metavar ? o->metavar : "");
        print_entry(out, left, o->help);
    }
}

static void
print_globals(FILE *out)
{
    fputs("global options (before or after the command):\n", out);
    print_options(globals, out);
    print_entry(out, "-h, --help", "help for this level");
    fputs("\nThe address is --url, else $HERALD_URL, else the config's "
          "public_url\n(--config, else $HERALD_CONFIG), else "
          "http://127.0.0.1:8080. The key is\n--api-key, else "
          "$HERALD_API_KEY, else the config's first api_keys entry.\n",
          out);
}

static void
command_line(const struct cli_command *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s%s%s", c->is_default ? "[" : "", c->name,
             c->is_default ? "]" : "", c->args[0] ? " " : "", c->args);
}

void
herald_cli_help(FILE *out)
{
    fputs("\ncommands that operate a running daemon through its API\n"
          "(herald COMMAND --help for each):\n",
          out);
    for (size_t g = 0; g < GROUPS; g++) {
        for (const struct cli_command *c = groups[g].commands; c->group; c++) {
            char line[96], left[128];

            command_line(c, line, sizeof(line));
            snprintf(left, sizeof(left), "%s %s", c->group, line);
            print_entry(out, left, c->summary);
        }
    }
    fputc('\n', out);
    print_globals(out);
    fputs("\nexit status: 0 done, 1 the daemon refused or could not be "
          "reached, 2 bad usage\n",
          out);
}

static int
top_help(FILE *out)
{
    fputs("usage: herald [global options] COMMAND [SUBCOMMAND] [options]\n"
          "       (herald serve, config check, keygen and version: see "
          "herald --help)\n",
          out);
    herald_cli_help(out);
    return CLI_OK;
}

static int
group_help(size_t g)
{
    printf("usage: herald %s SUBCOMMAND [options]\n\n%s.\n\nsubcommands:\n",
           groups[g].name, groups[g].summary);
    for (const struct cli_command *c = groups[g].commands; c->group; c++) {
        char line[96];

        command_line(c, line, sizeof(line));
        print_entry(stdout, line, c->summary);
    }
    printf("\n'herald %s SUBCOMMAND --help' shows its options.\n\n",
           groups[g].name);
    print_globals(stdout);
    return CLI_OK;
}

static int
command_help(const struct cli_command *c)
{
    printf("usage: herald %s %s%s%s [options]\n\n%s.\n", c->group, c->name,
           c->args[0] ? " " : "", c->args, c->summary);
    if (c->about)
        printf("\n%s\n", c->about);
    if (c->options && c->options->name) {
        fputs("\noptions:\n", stdout);
        print_options(c->options, stdout);
    }
    fputc('\n', stdout);
    print_globals(stdout);
    return CLI_OK;
}

int
cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("herald: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "\nsee 'herald %s %s --help'\n", cmd->group,
                cmd->name);
    else
        fputs("\nsee 'herald --help'\n", stderr);
    return CLI_USAGE;
}

/* A usage error of a group, pointing at the group's help. */
static int
group_error(size_t g, const char *problem)
{
    fprintf(stderr, "herald: %s\nsee 'herald %s --help'\n", problem,
            groups[g].name);
    return CLI_USAGE;
}

/* Finds the subcommand at argv[*s], or the group's default. */
static const struct cli_command *
find_command(size_t g, int argc, char **argv, int s, int *explicit)
{
    const struct cli_command *c;

    *explicit = s < argc && argv[s][0] != '-';
    for (c = groups[g].commands; c->group; c++) {
        if (*explicit ? strcmp(c->name, argv[s]) == 0 : c->is_default)
            return c;
    }
    return NULL;
}

static void
subcommand_names(size_t g, char *buf, size_t len)
{
    size_t n = 0;

    buf[0] = '\0';
    for (const struct cli_command *c = groups[g].commands; c->group; c++)
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s",
                              n ? ", " : "", c->name);
}

/* Checks that every value and argument is UTF-8, as JSON needs. */
static int
check_utf8(const struct cli_command *cmd, const struct cli_parsed *p)
{
    json_t *s;

    for (size_t i = 0; i < p->count + p->npositional; i++) {
        int option = i < p->count;

        s = json_string(option ? p->given[i].value
                               : p->positional[i - p->count]);
        if (!s && option)
            return cli_usage_error(cmd, "the value of --%s is not UTF-8",
                                   p->given[i].name);
        if (!s)
            return cli_usage_error(cmd, "argument %zu is not UTF-8",
                                   i - p->count + 1);
        json_decref(s);
    }
    return CLI_OK;
}

/* Checks the arguments' count and encoding. Returns CLI_OK, or
 * CLI_USAGE after saying what is wrong. */
static int
check_arguments(const struct cli_command *cmd, const struct cli_parsed *p)
{
    if (p->npositional < cmd->npositional)
        return cli_usage_error(cmd, "'%s %s' needs %s", cmd->group, cmd->name,
                               cmd->args);
    if (p->npositional > cmd->npositional)
        return cli_usage_error(cmd, "unexpected argument '%s'",
                               p->positional[cmd->npositional]);
    return check_utf8(cmd, p);
}

/* Parses argv without the words at g and s, then runs the command. */
static int
run(const struct cli_command *cmd, int argc, char **argv, int g, int s)
{
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    struct cli_ctx ctx = {0};
    struct cli_parsed *p = calloc(1, sizeof(*p));
    char msg[256];
    int n = 0, rc;

    for (int i = 1; rest && i < argc; i++) {
        if (i != g && i != s)
            rest[n++] = argv[i];
    }
    if (!rest || !p)
        rc = CLI_FAIL;
    else if (cli_parse(cmd->options, globals, n, rest, p, msg, sizeof(msg)))
        rc = cli_usage_error(cmd, "%s", msg);
    else if (p->help)
        rc = command_help(cmd);
    else if ((rc = check_arguments(cmd, p)) == CLI_OK &&
             (rc = cli_resolve(&ctx, cli_get(p, "url"), cli_get(p, "api-key"),
                               cli_get(p, "config"))) == CLI_OK) {
        ctx.json = cli_get(p, "json") != NULL;
        rc = cmd->run(&ctx, cmd, p);
    }
    cli_ctx_clear(&ctx);
    free(p);
    free(rest);
    return rc;
}

static int
dispatch(int argc, char **argv)
{
    int g = skip_globals(argc, argv, 1), s, explicit, gi;
    const struct cli_command *cmd;
    char names[128], msg[384];

    if (g >= argc) {
        for (int i = 1; i < argc; i++) {
            if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
                return top_help(stdout);
        }
        return cli_usage_error(NULL, "a command is needed: networks, "
                                     "accounts, posts, bulk or events");
    }
    gi = find_group(argv[g]);
    if (gi < 0 && g > 1)
        return cli_usage_error(NULL,
                               "unknown command '%s' after global options "
                               "(they go with networks, accounts, posts, "
                               "bulk and events only)",
                               argv[g]);
    if (gi < 0)
        return cli_usage_error(NULL, "unknown command '%s'", argv[g]);
    s = skip_globals(argc, argv, g + 1);
    cmd = find_command((size_t)gi, argc, argv, s, &explicit);
    subcommand_names((size_t)gi, names, sizeof(names));
    if (!cmd && explicit) {
        snprintf(msg, sizeof(msg), "unknown subcommand '%s' of '%s' (%s)",
                 argv[s], argv[g], names);
        return group_error((size_t)gi, msg);
    }
    /* "herald posts --help" is the group's help, not its default's. */
    for (int i = 1; !explicit && i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return group_help((size_t)gi);
    }
    if (!cmd) {
        snprintf(msg, sizeof(msg), "'%s' needs a subcommand: %s", argv[g],
                 names);
        return group_error((size_t)gi, msg);
    }
    return run(cmd, argc, argv, g, explicit ? s : -1);
}

int
herald_cli_main(int argc, char **argv)
{
    int rc;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "herald: cannot initialise libcurl\n");
        return CLI_FAIL;
    }
    rc = dispatch(argc, argv);
    curl_global_cleanup();
    return rc;
}

int
cli_parse_id(const struct cli_command *cmd, const char *what, const char *s,
             int64_t *id)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end || errno || v <= 0)
        return cli_usage_error(cmd, "'%s' is not %s (a positive number)", s,
                               what);
    *id = v;
    return CLI_OK;
}

int
cli_check_ids(const struct cli_command *cmd, const struct cli_parsed *p,
              const char *const *names)
{
    const char *values[CLI_MAX_GIVEN];
    char what[64];
    int64_t id;

    for (; *names; names++) {
        size_t n = cli_get_all(p, *names, values, CLI_MAX_GIVEN);

        snprintf(what, sizeof(what), "a valid --%s", *names);
        for (size_t i = 0; i < n && i < CLI_MAX_GIVEN; i++) {
            if (cli_parse_id(cmd, what, values[i], &id) != CLI_OK)
                return CLI_USAGE;
        }
    }
    return CLI_OK;
}

int
cli_add_query(struct cli_buf *path, const struct cli_parsed *p,
              const char *const *names)
{
    int rc = 0;

    for (; rc == 0 && *names; names++) {
        const char *v = cli_get(p, *names);

        if (v)
            rc = cli_buf_printf(
                path, "%c%s=", strchr(path->s, '?') ? '&' : '?', *names);
        if (v && rc == 0)
            rc = cli_buf_escape(path, v);
    }
    return rc;
}

/* GETs one page of base: the options of query, with the page after
 * *after when it is not NULL instead of --after. */
static int
get_page(struct cli_ctx *c, const struct cli_parsed *p, const char *base,
         const char *const *query, json_t *after, json_t **answer)
{
    struct cli_buf path = {0};
    int rc = cli_buf_printf(&path, "%s", base);

    for (; rc == 0 && *query; query++) {
        const char *one[] = {*query, NULL};

        if (!(after && strcmp(*query, "after") == 0))
            rc = cli_add_query(&path, p, one);
    }
    if (rc == 0 && after)
        rc = cli_buf_printf(&path, "%cafter=%lld",
                            strchr(path.s, '?') ? '&' : '?',
                            (long long)json_integer_value(after));
    rc = rc == 0 ? cli_call(c, "GET", path.s, NULL, NULL, answer) : CLI_FAIL;
    cli_buf_free(&path);
    return rc;
}

int
cli_get_list(struct cli_ctx *c, const struct cli_command *cmd,
             const struct cli_parsed *p, const char *base,
             const char *const *query, const char *const *numbers,
             json_t **answer)
{
    const char *key = strrchr(base, '/') + 1; /* "/v1/posts": "posts" */
    json_t *page = NULL, *next;
    int rc;

    *answer = NULL;
    if (cli_check_ids(cmd, p, numbers) != CLI_OK)
        return CLI_USAGE;
    rc = get_page(c, p, base, query, NULL, answer);
    /* --all: the following pages too, while the daemon names one. */
    while (rc == CLI_OK && cli_get(p, "all") &&
           json_is_integer(next = json_object_get(*answer, "next"))) {
        rc = get_page(c, p, base, query, next, &page);
        if (rc == CLI_OK) {
            json_array_extend(json_object_get(*answer, key),
                              json_object_get(page, key));
            json_object_set(*answer, "next", json_object_get(page, "next"));
        }
        json_decref(page);
        page = NULL;
    }
    if (rc != CLI_OK) {
        json_decref(*answer);
        *answer = NULL;
    }
    if (rc == CLI_OK && c->json) {
        cli_print_json(*answer);
        json_decref(*answer);
        *answer = NULL;
    }
    return rc;
}
