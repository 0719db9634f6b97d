/*
 * webhook.h - the notifier's webhooks: the JSON body of each and its
 * signature.
 *
 * A webhook is a POST of one JSON object to the calling app's URL:
 *
 *   {"id": "EVENT_ID", "type": "account.disconnected",
 *    "created_at": "RFC 3339", "account_id": 5, "post_id": null,
 *    "data": {...the event's detail, the account's network and username}}
 *
 * with the headers Herald-Event-Id, Herald-Event-Type, Herald-Timestamp
 * (unix seconds) and Herald-Signature: "v1=" and the hex HMAC-SHA256,
 * keyed with the configured secret, of the timestamp, a '.', and the
 * body. docs/notifications.md shows how a receiver checks it.
 *
 * Pure functions, for the notifier (notifier.c) on the loop thread and
 * for the unit tests.
 */
#ifndef HERALD_WEBHOOK_H
#define HERALD_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Room for a signature header's value: "v1=" and 64 hex digits. */
#define HERALD_WEBHOOK_SIGNATURE_LEN 68

/*
 * Builds a webhook body: a new JSON object, or NULL when out of memory.
 * account_id and post_id of 0 become null; data is stolen (a new
 * reference to an object, or NULL for an empty one).
 */
json_t *herald_webhook_body(int64_t event_id, const char *type, int64_t at_ms,
                            int64_t account_id, int64_t post_id, json_t *data);

/*
 * Signs body (len bytes) sent at timestamp (unix seconds) with secret:
 * writes "v1=" and the lowercase hex HMAC-SHA256 of "TIMESTAMP.BODY"
 * into out. Cannot fail.
 */
void herald_webhook_sign(const char *secret, int64_t timestamp,
                         const char *body, size_t len,
                         char out[HERALD_WEBHOOK_SIGNATURE_LEN]);

/*
 * Formats ms since the epoch as RFC 3339 UTC with milliseconds
 * ("2026-12-03T14:05:09.120Z") into buf (at least 32 bytes). Returns
 * buf.
 */
const char *herald_webhook_time(int64_t ms, char *buf, size_t len);

#endif
