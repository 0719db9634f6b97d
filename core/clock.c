/*
 * clock.c - the core's clock: the wall clock plus a forward-only offset.
 */
#include "clock.h"

#include <errno.h>
#include <time.h>

static int64_t offset_ms;

int64_t
herald_clock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset_ms;
}

int
herald_clock_advance(int64_t ms)
{
    if (ms < 0)
        return -EINVAL;
    offset_ms += ms;
    return 0;
}

int64_t
herald_clock_offset_ms(void)
{
    return offset_ms;
}
