/*
 * test_error.c - error messages: setting, prefixing, and staying in
 * bounds however long the parts are.
 */
#include <string.h>

#include "check.h"
#include "error.h"

int
main(void)
{
    struct herald_error e = {""};
    char longer[2048];

    herald_error_set(&e, "undefined symbol: %s", "foo");
    herald_error_prefix(&e, "plugin '%s' refused", "x.so");
    CHECK_STR(e.msg, "plugin 'x.so' refused: undefined symbol: foo");

    herald_error_set(NULL, "ignored");
    herald_error_prefix(NULL, "ignored");

    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    herald_error_set(&e, "%s", longer);
    CHECK(strlen(e.msg) == sizeof(e.msg) - 1);
    herald_error_set(&e, "inner");
    herald_error_prefix(&e, "%s", longer);
    CHECK(strlen(e.msg) == sizeof(e.msg) - 1);
    herald_error_set(&e, "%s", longer);
    herald_error_prefix(&e, "outer");
    CHECK(strncmp(e.msg, "outer: aaa", 10) == 0);
    CHECK(strlen(e.msg) == sizeof(e.msg) - 1);
    return check_done();
}
