/*
 * test_api_util.c - parsing ids and times from API requests, and
 * formatting times back.
 */
#include "api_private.h"
#include "check.h"

static int64_t
parse(const char *s)
{
    int64_t ms = -1;

    return herald_api_parse_time(s, &ms) == 0 ? ms : -1;
}

int
main(void)
{
    char buf[40];

    CHECK(herald_api_parse_id("42") == 42);
    CHECK(herald_api_parse_id("0") == 0);
    CHECK(herald_api_parse_id("-3") == 0);
    CHECK(herald_api_parse_id("12a") == 0);
    CHECK(herald_api_parse_id("") == 0);
    CHECK(herald_api_parse_id(NULL) == 0);
    CHECK(herald_api_parse_id("99999999999999999999") == 0);

    CHECK(parse("2026-12-03T10:00:00Z") == 1796292000000LL);
    CHECK(parse("2026-12-03t10:00:00z") == 1796292000000LL);
    CHECK(parse("2026-12-03T10:00:00.250Z") == 1796292000250LL);
    CHECK(parse("2026-12-03T11:30:00+01:30") == 1796292000000LL);
    CHECK(parse("2026-12-03T08:00:00-02:00") == 1796292000000LL);
    CHECK(parse("1796292000000") == 1796292000000LL);
    CHECK(parse("2026-12-03 10:00:00Z") == -1);
    CHECK(parse("2026-13-03T10:00:00Z") == -1);
    CHECK(parse("2026-12-03T10:00:00") == -1);
    CHECK(parse("2026-12-03T10:00:00+1:00") == -1);
    CHECK(parse("2026-12-03T10:00:00Zjunk") == -1);
    CHECK(parse("") == -1);
    /* Nothing at or before the epoch, and no overflow. */
    CHECK(parse("0") == -1);
    CHECK(parse("1970-01-01T00:00:00Z") == -1);
    CHECK(parse("0000-01-01T00:00:00Z") == -1);
    CHECK(parse("99999999999999999999") == -1);
    CHECK(parse("1970-01-01T00:00:00.001Z") == 1);

    CHECK_STR(herald_api_format_time(1796292000250LL, buf, sizeof(buf)),
              "2026-12-03T10:00:00.250Z");
    CHECK(herald_api_format_time(0, buf, sizeof(buf)) == NULL);
    return check_done();
}
