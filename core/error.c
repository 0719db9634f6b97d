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
        size_t room = sizeof(msg) - used - 3;
        size_t old = strnlen(e->msg, sizeof(e->msg));

        memcpy(msg + used, ": ", 2);
        used += 2;
        if (old > room)
            old = room;
        memcpy(msg + used, e->msg, old);
        msg[used + old] = '\0';
    }
    memcpy(e->msg, msg, sizeof(msg));
}
