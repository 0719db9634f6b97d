/*
 * letters.h - what herald's emails say: the subject, the plain text and
 * the HTML of each notice a person gets.
 *
 * One letter per event type that concerns a person: the account was
 * disconnected, a hard deadline is near, the reconnect window is
 * closing, the account is connected again. Each says in plain words
 * which network and account, what happened, what it means for the
 * scheduled posts, by when to act, and carries the one-time link when
 * there is something to do. Posts expired by the lateness policy have
 * a letter too: one for every posts expired together. Pure functions: the
 * notifier (notifier.c) gathers the facts, mail.c wraps the result in a
 * message.
 *
 * Invariant: every fact reaching the HTML is escaped, and a letter holds
 * no secret but the one-time link it was given.
 */
#ifndef HERALD_LETTERS_H
#define HERALD_LETTERS_H

#include <stddef.h>
#include <stdint.h>

/* What a letter is about; every pointer is borrowed. */
struct herald_letter_facts {
    const char *event_type; /* "account.disconnected", ... */
    const char *network;    /* the network's display name: "LinkedIn" */
    const char *username;
    const char *reason; /* why, in plain words; or NULL */
    int64_t blocked;    /* the account's posts on hold */
    int64_t scheduled;  /* its posts still to go out later */
    int64_t released;   /* reconnected: posts released; -1 unknown */
    int64_t expired;    /* post.expired: posts expired, folded */
    int64_t limit_s;    /* post.expired: the lateness limit; 0 unknown */
    int64_t deadline;   /* ms: act by then; 0 when not known */
    int64_t days;       /* reminders: days left; 0: from deadline */
    int64_t now;        /* ms: the time the letter is written */
    const char *link;   /* the one-time link, or NULL */
    int64_t link_expires_at;
};

/* A written letter; every string is malloc()ed and owned. */
struct herald_letter {
    char *subject;
    char *text; /* '\n' line ends, lines of at most 72 columns but URLs */
    char *html;
};

/* Returns 1 when event_type has a letter (and so leads to an email). */
int herald_letter_exists(const char *event_type);

/* Returns 1 when the letter of event_type carries a one-time link. */
int herald_letter_wants_link(const char *event_type);

/*
 * Writes the letter for f into *out (release it with
 * herald_letter_clear()). Returns 0, -ENOTSUP for an event type without
 * a letter, -EINVAL when network or username is missing, or -ENOMEM
 * (and *out is empty).
 */
int herald_letter_write(const struct herald_letter_facts *f,
                        struct herald_letter *out);

/* Wipes (they may hold the link) and frees a letter's strings. */
void herald_letter_clear(struct herald_letter *l);

/*
 * Formats ms as a date for people, in UTC ("3 December 2026 at 14:05
 * UTC"), into buf (at least 48 bytes). Returns buf.
 */
const char *herald_letter_date(int64_t ms, char *buf, size_t len);

#endif
