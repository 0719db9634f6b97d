/*
 * test_cli_args.c - reading a command's options: both value forms,
 * flags, repeats, globals anywhere, "--", help, and a clear problem for
 * every bad command line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli_args.h"

static const struct cli_option opts[] = {
    {"account", "ID", 1, "an account"},
    {"text", "TEXT", 0, "the text"},
    {NULL, NULL, 0, NULL},
};

static const struct cli_option globals[] = {
    {"url", "URL", 0, "address"},
    {"json", NULL, 0, "JSON"},
    {NULL, NULL, 0, NULL},
};

static struct cli_parsed p;
static char msg[128];

/* Parses a copy of the NULL-terminated list, kept until the next call
 * (p borrows from it). */
static int
parse(const char *const *list)
{
    static char words[16][64];
    char *argv[16];
    int argc = 0;

    for (; list[argc]; argc++) {
        snprintf(words[argc], sizeof(words[argc]), "%s", list[argc]);
        argv[argc] = words[argc];
    }
    msg[0] = '\0';
    return cli_parse(opts, globals, argc, argv, &p, msg, sizeof(msg));
}

static void
test_good(void)
{
    const char *const argv[] = {
        "ID7",   "--account",  "1",  "--json", "--text=-5", "--account=2:page",
        "--url", "http://h:1", "--", "--text", NULL};
    const char *all[4];

    CHECK(parse(argv) == 0);
    CHECK(p.npositional == 2);
    CHECK_STR(p.positional[0], "ID7");
    CHECK_STR(p.positional[1], "--text");
    CHECK_STR(cli_get(&p, "text"), "-5");
    CHECK_STR(cli_get(&p, "url"), "http://h:1");
    CHECK_STR(cli_get(&p, "json"), "");
    CHECK(cli_get(&p, "nothing") == NULL);
    CHECK(cli_get_all(&p, "account", all, 4) == 2);
    CHECK_STR(all[0], "1");
    CHECK_STR(all[1], "2:page");
    CHECK(cli_get_all(&p, "account", all, 1) == 2);
    CHECK(p.help == 0);
}

static void
test_value_may_look_like_an_option(void)
{
    const char *const argv[] = {"--text", "--help", "-", NULL};

    CHECK(parse(argv) == 0);
    CHECK_STR(cli_get(&p, "text"), "--help");
    CHECK(p.help == 0);
    CHECK(p.npositional == 1);
    CHECK_STR(p.positional[0], "-");
}

static void
test_help(void)
{
    const char *const a[] = {"-h", NULL};
    const char *const b[] = {"x", "--help", NULL};

    CHECK(parse(a) == 0 && p.help == 1);
    CHECK(parse(b) == 0 && p.help == 1);
}

static void
test_bad(void)
{
    const char *const unknown[] = {"--bogus=1", NULL};
    const char *const single[] = {"-x", NULL};
    const char *const missing[] = {"--text", NULL};
    const char *const flag[] = {"--json=yes", NULL};
    const char *const twice[] = {"--text", "a", "--text", "b", NULL};
    const char *const many[] = {"1", "2", "3", "4", "5",
                                "6", "7", "8", "9", NULL};

    CHECK(parse(unknown) == -EINVAL);
    CHECK_STR(msg, "unknown option '--bogus'");
    CHECK(parse(single) == -EINVAL);
    CHECK_STR(msg, "unknown option '-x'");
    CHECK(parse(missing) == -EINVAL);
    CHECK_STR(msg, "option '--text' needs a value (TEXT)");
    CHECK(parse(flag) == -EINVAL);
    CHECK_STR(msg, "option '--json' takes no value");
    CHECK(parse(twice) == -EINVAL);
    CHECK_STR(msg, "option '--text' is given twice");
    CHECK(parse(many) == -EINVAL);
    CHECK_STR(msg, "too many arguments, from '9'");
}

static void
test_find(void)
{
    int next;

    CHECK(cli_find_option(globals, "--url", &next) == &globals[0]);
    CHECK(next == 1);
    CHECK(cli_find_option(globals, "--url=x", &next) == &globals[0]);
    CHECK(next == 0);
    CHECK(cli_find_option(globals, "--json", &next) == &globals[1]);
    CHECK(next == 0);
    CHECK(cli_find_option(globals, "--ur", &next) == NULL);
    CHECK(cli_find_option(globals, "url", &next) == NULL);
    CHECK(cli_find_option(NULL, "--url", &next) == NULL);
}

int
main(void)
{
    test_good();
    test_value_may_look_like_an_option();
    test_help();
    test_bad();
    test_find();
    return check_done();
}
