/*
 * test_notifier.c - the notifier's retry plan: waits from the floor,
 * doubling to the ceiling, each spread by at most 20 % either way.
 */
#include <stdint.h>

#include "check.h"
#include "config.h"
#include "notifier.h"

static void
test_retry_at(void)
{
    struct herald_config cfg = {0};
    int64_t now = 1000000;

    cfg.retry_floor_ms = 1000;
    cfg.retry_ceiling_ms = 30000;
    /* The random bits reach both ends of the spread. */
    CHECK(herald_config_retry_at(&cfg, 1, now, 0) == now + 800);
    CHECK(herald_config_retry_at(&cfg, 1, now, 400) == now + 1200);
    CHECK(herald_config_retry_at(&cfg, 2, now, 0) == now + 1600);
    CHECK(herald_config_retry_at(&cfg, 3, now, 0) == now + 3200);
    CHECK(herald_config_retry_at(&cfg, 6, now, 0) == now + 24000);
    CHECK(herald_config_retry_at(&cfg, 7, now, 0) == now + 24000);
    CHECK(herald_config_retry_at(&cfg, 100, now, 12000) == now + 36000);
    for (uint32_t r = 0; r < 100000; r += 997) {
        int64_t at = herald_config_retry_at(&cfg, 4, now, r);
        CHECK(at >= now + 6400 && at <= now + 9600);
    }
}

int
main(void)
{
    test_retry_at();
    return check_done();
}
