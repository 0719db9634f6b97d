/*
 * test_cli_text.c - the command-line client's text pieces: the growing
 * string, URL encoding, times as tables show them, widths and clipping
 * of UTF-8 text.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli_text.h"

/* Eleven two-byte characters, and ten that take two columns each. */
#define ACCENTED "ééééééééééé"
#define WIDE     "日本語のテキストです"

static void
test_buf(void)
{
    struct cli_buf b = {0};
    char big[300];

    CHECK(cli_buf_printf(&b, "/v1/%s", "posts") == 0);
    CHECK(cli_buf_printf(&b, "?%s=", "owner") == 0);
    CHECK(cli_buf_escape(&b, "a b&c=d/é~x.y_z-1") == 0);
    CHECK_STR(b.s, "/v1/posts?owner=a%20b%26c%3Dd%2F%C3%A9~x.y_z-1");
    CHECK(b.len == strlen(b.s));

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK(cli_buf_printf(&b, "%s", big) == 0);
    CHECK(b.len ==
          strlen("/v1/posts?owner=a%20b%26c%3Dd%2F%C3%A9~x.y_z-1") + 299);
    CHECK(b.s[b.len] == '\0');
    cli_buf_free(&b);
    CHECK(b.s == NULL && b.len == 0 && b.cap == 0);

    CHECK(cli_buf_escape(&b, "") == 0);
    CHECK_STR(b.s, "");
    cli_buf_free(&b);
}

static void
test_time(void)
{
    char buf[40];

    CHECK_STR(cli_time("2026-12-03T16:40:05.123Z", buf, sizeof(buf)),
              "2026-12-03 16:40Z");
    CHECK_STR(cli_time("2099-01-01T00:00:00Z", buf, sizeof(buf)),
              "2099-01-01 00:00Z");
    CHECK_STR(cli_time(NULL, buf, sizeof(buf)), "-");
    CHECK_STR(cli_time("", buf, sizeof(buf)), "-");
    CHECK_STR(cli_time("tomorrow", buf, sizeof(buf)), "tomorrow");
    CHECK_STR(cli_time("2026-12-03 16:40", buf, sizeof(buf)),
              "2026-12-03 16:40");
    CHECK_STR(cli_time("2026-12-0", buf, sizeof(buf)), "2026-12-0");
}

static void
test_width_and_clip(void)
{
    char buf[64];

    CHECK(cli_width(NULL) == 0);
    CHECK(cli_width("abc") == 3);
    CHECK(cli_width("café") == 4);
    CHECK(cli_width("日本語") == 3);

    CHECK_STR(cli_clip("short", 10, buf, sizeof(buf)), "short");
    CHECK_STR(cli_clip(NULL, 10, buf, sizeof(buf)), "");
    CHECK_STR(cli_clip("exactly10!", 10, buf, sizeof(buf)), "exactly10!");
    CHECK_STR(cli_clip("one more char", 10, buf, sizeof(buf)), "one mor...");
    CHECK_STR(cli_clip("two\nlines\ttab", 20, buf, sizeof(buf)),
              "two lines tab");
    /* Never cuts inside a character. */
    CHECK_STR(cli_clip(ACCENTED, 6, buf, sizeof(buf)), "ééé...");
    CHECK(cli_width(cli_clip(WIDE, 8, buf, sizeof(buf))) == 8);
    /* A small buffer ends the text early, still whole characters. */
    CHECK_STR(cli_clip("ééééé", 100, buf, 8), "éé");
}

int
main(void)
{
    test_buf();
    test_time();
    test_width_and_clip();
    return check_done();
}
