/*
 * cli_args.c - reads the options of one command-line client command.
 *
 * Called by cli.c once the command is known. A value is always the
 * next argument, even when it starts with "-", so "--text -5" works.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli_args.h"

const struct cli_option *
cli_find_option(const struct cli_option *table, const char *arg,
                int *takes_next)
{
    const char *eq;
    size_t n;

    *takes_next = 0;
    if (!table || strncmp(arg, "--", 2) != 0)
        return NULL;
    arg += 2;
    eq = strchr(arg, '=');
    n = eq ? (size_t)(eq - arg) : strlen(arg);
    for (; table->name; table++) {
        if (strlen(table->name) == n && strncmp(table->name, arg, n) == 0) {
            *takes_next = !eq && table->metavar;
            return table;
        }
    }
    return NULL;
}

static int
given_before(const struct cli_parsed *p, const char *name)
{
    for (size_t i = 0; i < p->count; i++) {
        if (strcmp(p->given[i].name, name) == 0)
            return 1;
    }
    return 0;
}

/* Reads the option at argv[*i]; moves *i past its value. */
static int
read_option(const struct cli_option *opts, const struct cli_option *globals,
            int argc, char **argv, int *i, struct cli_parsed *out, char *msg,
            size_t len)
{
    const char *arg = argv[*i], *eq = strchr(arg, '=');
    const struct cli_option *o;
    int next;

    o = cli_find_option(opts, arg, &next);
    if (!o)
        o = cli_find_option(globals, arg, &next);
    if (!o) {
        snprintf(msg, len, "unknown option '%.*s'",
                 (int)(eq ? eq - arg : (long)strlen(arg)), arg);
        return -EINVAL;
    }
    if (!o->metavar && eq) {
        snprintf(msg, len, "option '--%s' takes no value", o->name);
        return -EINVAL;
    }
    if (next && *i + 1 >= argc) {
        snprintf(msg, len, "option '--%s' needs a value (%s)", o->name,
                 o->metavar);
        return -EINVAL;
    }
    if (!o->repeat && given_before(out, o->name)) {
        snprintf(msg, len, "option '--%s' is given twice", o->name);
        return -EINVAL;
    }
    if (out->count == CLI_MAX_GIVEN) {
        snprintf(msg, len, "too many options");
        return -EINVAL;
    }
    out->given[out->count].name = o->name;
    out->given[out->count].value =
        !o->metavar ? "" : (eq ? eq + 1 : argv[++*i]);
    out->count++;
    return 0;
}

static int
add_positional(struct cli_parsed *out, const char *arg, char *msg, size_t len)
{
    if (out->npositional == CLI_MAX_POSITIONAL) {
        snprintf(msg, len, "too many arguments, from '%s'", arg);
        return -EINVAL;
    }
    out->positional[out->npositional++] = arg;
    return 0;
}

int
cli_parse(const struct cli_option *opts, const struct cli_option *globals,
          int argc, char **argv, struct cli_parsed *out, char *msg, size_t len)
{
    int rest = 0, rc = 0;

    memset(out, 0, sizeof(*out));
    for (int i = 0; rc == 0 && i < argc; i++) {
        const char *a = argv[i];

        if (rest || a[0] != '-' || strcmp(a, "-") == 0)
            rc = add_positional(out, a, msg, len);
        else if (strcmp(a, "--") == 0)
            rest = 1;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            out->help = 1;
        else if (strncmp(a, "--", 2) == 0)
            rc = read_option(opts, globals, argc, argv, &i, out, msg, len);
        else {
            snprintf(msg, len, "unknown option '%s'", a);
            rc = -EINVAL;
        }
    }
    return rc;
}

const char *
cli_get(const struct cli_parsed *p, const char *name)
{
    const char *v = NULL;

    for (size_t i = 0; i < p->count; i++) {
        if (strcmp(p->given[i].name, name) == 0)
            v = p->given[i].value;
    }
    return v;
}

size_t
cli_get_all(const struct cli_parsed *p, const char *name, const char **out,
            size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < p->count; i++) {
        if (strcmp(p->given[i].name, name) == 0) {
            if (n < max)
                out[n] = p->given[i].value;
            n++;
        }
    }
    return n;
}
