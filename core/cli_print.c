/*
 * cli_print.c - how the command-line client's commands print the
 * daemon's answers: members of JSON objects as table cells, name/value
 * rows, the next-page hint, JSON as it is, and the API's problems.
 *
 * Called by the cli*.c files. Tables and JSON go to stdout; hints and
 * problems to stderr, so stdout stays fit for a pipe.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli_private.h"

const char *
cli_str(json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

const char *
cli_number(json_t *o, const char *name, char *buf, size_t len)
{
    json_t *v = json_object_get(o, name);

    if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else
        snprintf(buf, len, "-");
    return buf;
}

const char *
cli_time_of(json_t *o, const char *name, char *buf, size_t len)
{
    return cli_time(cli_str(o, name), buf, len);
}

void
cli_pair(struct cli_table *t, const char *name, const char *value)
{
    const char *row[] = {name, value};

    if (t)
        cli_table_add(t, row);
}

void
cli_pair_time(struct cli_table *t, const char *name, json_t *o,
              const char *field)
{
    char buf[40];

    cli_pair(t, name, cli_time_of(o, field, buf, sizeof(buf)));
}

void
cli_hint_next(json_t *answer)
{
    json_t *next = json_object_get(answer, "next");

    if (json_is_integer(next))
        fprintf(stderr, "more: add --after %lld\n",
                (long long)json_integer_value(next));
}

int
cli_table_done(struct cli_table *t)
{
    if (!t) {
        fprintf(stderr, "herald: out of memory\n");
        return CLI_FAIL;
    }
    cli_table_print(t, stdout);
    cli_table_free(t);
    return CLI_OK;
}

void
cli_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);

    if (s)
        puts(s);
    free(s);
}

void
cli_print_problems(json_t *problems)
{
    size_t i;
    json_t *p;

    json_array_foreach(problems, i, p)
    {
        json_int_t account =
            json_integer_value(json_object_get(p, "account_id"));

        if (account > 0)
            fprintf(stderr, "  account %lld: ", (long long)account);
        else
            fprintf(stderr, "  ");
        fprintf(stderr, "%s: %s\n", cli_str(p, "rule"), cli_str(p, "message"));
    }
}
