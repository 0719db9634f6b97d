/*
 * test_keeper.c - when the keeper plans a renewal, per token model.
 */
#include "check.h"
#include "keeper.h"

#define MIN  (60 * 1000LL)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)

static const int64_t t0 = 1780000000000LL;

static int64_t
renew_at(enum herald_token_model model, int64_t lifetime, int refresh)
{
    struct herald_credentials c = {
        .access_token = "a",
        .refresh_token = refresh ? "r" : NULL,
        .access_expires_at = lifetime ? t0 + lifetime : 0,
    };

    return herald_keeper_renew_at(model, &c, t0);
}

int
main(void)
{
    /* X: two hours, renewed with a quarter left. */
    CHECK(renew_at(HERALD_TOKEN_ROTATING_REFRESH, 2 * HOUR, 1) ==
          t0 + 90 * MIN);
    /* Without a refresh token nothing can be renewed. */
    CHECK(renew_at(HERALD_TOKEN_ROTATING_REFRESH, 2 * HOUR, 0) == 0);
    /* Short lifetimes: at least a minute ahead, but never past half. */
    CHECK(renew_at(HERALD_TOKEN_ROTATING_REFRESH, 3 * MIN, 1) == t0 + 2 * MIN);
    CHECK(renew_at(HERALD_TOKEN_ROTATING_REFRESH, 4000, 1) == t0 + 2000);

    /* LinkedIn: sixty days, renewed with fifteen left. */
    CHECK(renew_at(HERALD_TOKEN_FIXED_DEADLINE_REFRESH, 60 * DAY, 1) ==
          t0 + 45 * DAY);
    CHECK(renew_at(HERALD_TOKEN_FIXED_DEADLINE_REFRESH, 60 * DAY, 0) == 0);

    /* Instagram: extended halfway, long after its one-day minimum. */
    CHECK(renew_at(HERALD_TOKEN_SELF_EXTENDING, 60 * DAY, 0) == t0 + 30 * DAY);

    /* Facebook and non-expiring tokens are never renewed. */
    CHECK(renew_at(HERALD_TOKEN_EXCHANGE_ONLY, 60 * DAY, 0) == 0);
    CHECK(renew_at(HERALD_TOKEN_NON_EXPIRING, 0, 0) == 0);

    /* An unknown expiry plans nothing. */
    CHECK(renew_at(HERALD_TOKEN_ROTATING_REFRESH, 0, 1) == 0);
    return check_done();
}
