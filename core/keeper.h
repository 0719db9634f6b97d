/*
 * keeper.h - keeps accounts connected: renewals, access checks and the
 * account state machine.
 *
 * The keeper plans each account's next action from its network's
 * declared token model and stores it (accounts.next_action_at); one loop
 * timer wakes it for the earliest, so nothing scans every account on
 * every tick. An action is a renewal (the plugin's refresh) when the
 * token is due for one, otherwise a cheap identity check for an account
 * that has had no successful call for the configured interval.
 *
 * Account states, with the function behind each move:
 *
 *  pending --authorized--> active            (oauth.c, store_account)
 *  active --refresh or check ok--> active    (action_ok)
 *  active --transient failure--> degraded    (action_transient)
 *  degraded --ok--> active                   (action_ok: "recovered")
 *  active|degraded --access lost--> disconnected   (disconnect,
 *                                              herald_keeper_report)
 *  disconnected --reauthorized--> active     (oauth.c, same identity)
 *  any --removed--> removed                  (api_accounts.c)
 *
 * Invariants: one action per account at a time; a rotated refresh token
 * is committed before anything uses the new access token; a renewal cut
 * short by a crash leaves the account degraded, never active, until it is
 * resolved; transient failures never disconnect an account.
 *
 * Calling context: the loop thread.
 */
#ifndef HERALD_KEEPER_H
#define HERALD_KEEPER_H

#include <stdint.h>

#include "herald/plugin.h"

struct herald_daemon;

/*
 * Starts the keeper on d's loop: resolves renewals a crash interrupted
 * and arms the timer. Returns 0 or a negative errno value.
 */
int herald_keeper_start(struct herald_daemon *d);

/* Stops the timer; actions in flight end with the HTTP client. */
void herald_keeper_stop(struct herald_daemon *d);

/* Re-arms the timer, after the clock moved. */
void herald_keeper_rearm(struct herald_daemon *d);

/* Returns the number of actions in flight. */
unsigned herald_keeper_in_flight(const struct herald_daemon *d);

/*
 * Re-plans one account after something changed it (connected,
 * reconnected, removed) and re-arms the timer.
 */
void herald_keeper_account_changed(struct herald_daemon *d,
                                   int64_t account_id);

/*
 * Plans the account's next action for now: a renewal if one is due,
 * otherwise an access check. Returns 0, -EAGAIN when the keeper is not
 * running, or another negative errno value.
 */
int herald_keeper_check_now(struct herald_daemon *d, int64_t account_id);

/*
 * Applies the outcome of any operation on an account (a publish, say):
 * access lost disconnects it, an expired token schedules a renewal now,
 * success proves the account works. Other outcomes change nothing here.
 */
void herald_keeper_report(struct herald_daemon *d, int64_t account_id,
                          const struct herald_outcome *outcome);

/*
 * When the next renewal of an account is due, from its network's token
 * model: 0 when the model has none. obtained_at is when the current
 * credentials were stored. Exposed for the tests of the planning rules.
 */
int64_t herald_keeper_renew_at(enum herald_token_model model,
                               const struct herald_credentials *creds,
                               int64_t obtained_at);

#endif
