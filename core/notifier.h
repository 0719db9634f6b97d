/*
 * notifier.h - tells people and the calling app what happened: follows
 * the audit trail and delivers notices by email and webhook.
 *
 * The notifier reads the events table after a durable cursor, turns
 * each relevant event into one notice per channel (notices.c), and
 * sends the due ones through the daemon's HTTP client, which speaks
 * SMTP too. A notice goes through these states, with the function
 * behind each move:
 *
 *   (event) --planned--> pending             (plan_email, plan_webhook)
 *   pending --attempt delivered--> delivered (on_sent)
 *   pending --attempt failed--> pending, due after a backoff (on_sent)
 *   pending --attempts used up--> failed     (on_sent)
 *   pending, attempt cut short by a stop or crash --> pending, due now
 *                                             (herald_notifier_start)
 *
 * One failure makes one notice per channel: an account's disconnection
 * is one email and one account.disconnected webhook however many posts
 * it blocks, and the post.blocked events of one disconnection fold into
 * one webhook that carries their count.
 *
 * Invariants: the cursor moves in the same transaction as the notices
 * it planned, so a restart neither loses nor repeats one; an attempt is
 * recorded before its mail or request leaves; nothing here waits on the
 * network, so a receiver that is down never delays posting.
 *
 * Calling context: the loop thread.
 */
#ifndef HERALD_NOTIFIER_H
#define HERALD_NOTIFIER_H

#include <stdint.h>

struct herald_config;
struct herald_daemon;

/*
 * Starts the notifier on d's loop: reopens attempts a stop or a crash
 * cut short and arms its timer. Runs whether or not a channel is
 * configured (events are then passed over). Returns 0 or a negative
 * errno value.
 */
int herald_notifier_start(struct herald_daemon *d);

/*
 * Stops the timer and frees the notifier. Deliveries in flight end with
 * the HTTP client; their attempts stay open and are made again after
 * the next start. Safe when the notifier is not running.
 */
void herald_notifier_stop(struct herald_daemon *d);

#endif
