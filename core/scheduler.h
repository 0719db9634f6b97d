/*
 * scheduler.h - publishes posts when they fall due, once, in order,
 * within each network's limits, and reconciles what a crash cut short.
 *
 * Post states, with the function behind each move:
 *
 *   scheduled --due--> queued                 (store: posts_promote)
 *   retrying --due--> queued                  (store: posts_promote)
 *   queued --account not active, network not enabled--> blocked
 *                                             (block_account)
 *   queued --later than its lateness limit--> expired   (too_late)
 *   queued --> publishing                     (consider: attempt_begin)
 *   publishing --done or duplicate--> published     (apply_outcome)
 *   publishing --rejected, or retries exhausted--> failed
 *                                             (apply_outcome, job_retry)
 *   publishing --transient, rate limited--> retrying    (job_retry)
 *   publishing --token expired--> queued (after one renewal)
 *                                             (job_token_expired)
 *   publishing --access lost--> blocked             (apply_outcome)
 *   publishing --outcome unknown--> unknown, or retrying where a repeat
 *                                   is answered as a duplicate
 *                                             (apply_outcome)
 *   publishing --found after a crash--> published   (on_reconciled)
 *   publishing --not found after a crash--> queued  (on_reconciled)
 *   publishing --cannot tell after a crash--> unknown
 *                                             (reconcile, on_reconciled)
 *   publishing --crash, repeats answered as duplicates--> queued
 *                                             (requeue_interrupted)
 *   blocked --reconnect or release--> queued  (oauth.c, api_bulk.c)
 *   failed|unknown --retry (API)--> scheduled           (api_posts.c)
 *   scheduled|queued|retrying|blocked --cancel (API)--> canceled
 *
 * Invariants: one attempt in flight per account, so an account's posts
 * go out in their order; an attempt is committed before its request;
 * nothing is sent for an account or a network before its hold (a rate
 * limit's reset, a retry's wait) ends; after a crash, an attempt left
 * publishing is reconciled, never blindly resent.
 *
 * Calling context: the loop thread.
 */
#ifndef HERALD_SCHEDULER_H
#define HERALD_SCHEDULER_H

#include <stdint.h>

struct herald_daemon;

/*
 * Starts the scheduler: reconciles attempts a crash left publishing, then
 * arms the timer for the next due post. Returns 0 or a negative errno.
 */
int herald_scheduler_start(struct herald_daemon *d);

/* Stops the timer; publishing in flight ends with the HTTP client. */
void herald_scheduler_stop(struct herald_daemon *d);

/* Asks for a pass soon (new posts, an account back): from the loop, not
 * from inside the caller. */
void herald_scheduler_kick(struct herald_daemon *d);

/*
 * Tells the scheduler a commit to the store failed: outcomes it held may
 * be lost, leaving posts publishing with nothing in flight. Passes are
 * tried every second until the store commits again; then those posts are
 * reconciled as after a crash (never blindly sent again).
 */
void herald_scheduler_store_failed(struct herald_daemon *d);

/* Tells the scheduler an account's renewal succeeded: its posts waiting
 * for a fresh token may go. */
void herald_scheduler_account_ready(struct herald_daemon *d,
                                    int64_t account_id);

/* Returns the number of attempts and reconciliations in flight. */
unsigned herald_scheduler_in_flight(const struct herald_daemon *d);

#endif
