/*
 * mail.h - builds the email messages the notifier sends: RFC 5322
 * headers and a MIME multipart/alternative body with a text/plain and a
 * text/html part, both UTF-8 in quoted-printable.
 *
 * Pure functions over strings: no I/O, no clock, no store, so the unit
 * tests check every byte. The notifier (notifier.c) calls them on the
 * loop thread; the words themselves come from letters.c.
 *
 * Invariant: nothing a caller passes can add a header or end one early:
 * addresses with line breaks or angle brackets are refused, and the
 * subject is encoded (RFC 2047) whenever it is not plain printable ASCII.
 */
#ifndef HERALD_MAIL_H
#define HERALD_MAIL_H

#include <stddef.h>
#include <stdint.h>

/* A message to build; every pointer is borrowed. */
struct herald_mail {
    const char *from;       /* "addr" or "Name <addr>" */
    const char *to;         /* a bare address */
    const char *subject;    /* UTF-8 */
    const char *message_id; /* "<id@domain>" */
    int64_t date_ms;        /* the Date header, ms since the epoch */
    const char *text;       /* UTF-8, '\n' line ends */
    const char *html;       /* UTF-8, '\n' line ends */
    const char *boundary;   /* MIME boundary: letters, digits, '-', '.' */
};

/*
 * Builds the whole message, with CRLF line ends, into *out (malloc()ed,
 * NUL-terminated after *len bytes; the caller frees it, after wiping it
 * when it holds a one-time link). Returns 0, -EINVAL when a field is
 * missing, an address is not one (see herald_mail_address_ok()) or the
 * boundary is unusable, or -ENOMEM.
 */
int herald_mail_build(const struct herald_mail *m, char **out, size_t *len);

/*
 * Returns 1 when addr is a bare address herald will put in a header and
 * an SMTP envelope: 3 to 254 bytes, one '@' with text either side, and
 * no space, control character, '<', '>', ',', ';' or '"'. Else 0.
 */
int herald_mail_address_ok(const char *addr);

/*
 * Copies the bare address out of from ("addr" or "Name <addr>") into
 * out (len bytes). Returns 0, or -EINVAL when there is none that
 * herald_mail_address_ok() accepts.
 */
int herald_mail_envelope_address(const char *from, char *out, size_t len);

/*
 * Formats ms as an RFC 5322 date ("Thu, 03 Dec 2026 14:05:09 +0000")
 * into buf (at least 32 bytes). Returns buf.
 */
const char *herald_mail_date(int64_t ms, char *buf, size_t len);

/*
 * Appends s (len bytes, '\n' line ends) to *out as quoted-printable with
 * CRLF line ends and lines of at most 76 characters. *out is a
 * malloc()ed string of *out_len bytes (NULL and 0 to start). Returns 0
 * or -ENOMEM.
 */
int herald_mail_qp(const char *s, size_t len, char **out, size_t *out_len);

#endif
