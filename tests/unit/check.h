/*
 * check.h - the unit tests' assertions.
 *
 * CHECK() records a failure with its file and line and goes on, so one run
 * reports every broken expectation. check_done() prints the closing
 * "N passed, N failed" line and gives the exit status.
 */
#ifndef HERALD_CHECK_H
#define HERALD_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed;
static int check_failed;

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (cond) {                                                           \
            check_passed++;                                                   \
        } else {                                                              \
            check_failed++;                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                   \
        }                                                                     \
    } while (0)

#define CHECK_STR(got, want)                                                  \
    do {                                                                      \
        const char *got_ = (got);                                             \
        const char *want_ = (want);                                           \
        if (got_ && want_ && strcmp(got_, want_) == 0) {                      \
            check_passed++;                                                   \
        } else {                                                              \
            check_failed++;                                                   \
            fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__,     \
                    __LINE__, got_ ? got_ : "(null)",                         \
                    want_ ? want_ : "(null)");                                \
        }                                                                     \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                           \
    do {                                                                      \
        const char *hay_ = (hay);                                             \
        const char *needle_ = (needle);                                       \
        if (hay_ && strstr(hay_, needle_)) {                                  \
            check_passed++;                                                   \
        } else {                                                              \
            check_failed++;                                                   \
            fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n",        \
                    __FILE__, __LINE__, hay_ ? hay_ : "(null)", needle_);     \
        }                                                                     \
    } while (0)

static inline int
check_done(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed == 0 && check_passed > 0 ? 0 : 1;
}

#endif
