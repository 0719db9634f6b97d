/*
 * error.c - fills struct herald_error messages.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
herald_error_set(struct herald_error *e, const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

void
herald_error_prefix(struct herald_error *e, const char *fmt, ...)
{
    char msg[sizeof(e->msg)];
    size_t used;
    va_list ap;
    int n;

    if (!e)
        return;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    used = n < 0 ? 0 : (size_t)n;

    /* The prefix and ": " go first; the old message fills what is left. */
    if (used + 2 < sizeof(msg)) {
        memcpy(msg + used, ": ", 3);
        used += 2;
        strncat(msg + used, e->msg, sizeof(msg) - used - 1);
    }
    memcpy(e->msg, msg, sizeof(msg));
}
