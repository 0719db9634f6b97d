/*
 * mail.c - RFC 5322 and MIME for the notifier's emails.
 *
 * A message is built in one growing buffer: the headers, then a
 * multipart/alternative body whose parts are quoted-printable, so every
 * line stays short and 7-bit whatever the text holds. The buffer keeps
 * its first failure, so the steps are written as a straight list and
 * checked once at the end.
 */
#include "mail.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

/* Bytes of a subject per RFC 2047 encoded word: 60 base64 characters. */
#define WORD_BYTES 45

/* The longest quoted-printable line before its soft break. */
#define QP_LINE 75

struct buf {
    char *p;
    size_t len;
    size_t cap;
    int failed;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
    char *grown;
    size_t cap;

    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        grown = realloc(b->p, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
buf_printf(struct buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(small)) {
        b->failed = 1;
        return;
    }
    buf_add(b, small, (size_t)n);
}

int
herald_mail_address_ok(const char *addr)
{
    size_t n = addr ? strlen(addr) : 0;
    const char *at = addr ? strchr(addr, '@') : NULL;

    if (n < 3 || n > 254 || !at || at == addr || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        if (*p <= ' ' || *p == 0x7f || strchr("<>,;\"", *p))
            return 0;
    return 1;
}

int
herald_mail_envelope_address(const char *from, char *out, size_t len)
{
    const char *open = strrchr(from, '<');
    const char *start = open ? open + 1 : from;
    size_t n = open ? strcspn(start, ">") : strlen(start);

    if (n >= len || (open && start[n] != '>'))
        return -EINVAL;
    memcpy(out, start, n);
    out[n] = '\0';
    return herald_mail_address_ok(out) ? 0 : -EINVAL;
}

const char *
herald_mail_date(int64_t ms, char *buf, size_t len)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

/* Whether byte i of a line of n bytes must be written as =XX. */
static int
qp_escape(const unsigned char *line, size_t n, size_t i)
{
    unsigned char c = line[i];

    if (c == ' ' || c == '\t')
        return i + 1 == n; /* whitespace at a line's end is lost */
    return c < 33 || c > 126 || c == '=';
}

static void
qp_line(struct buf *b, const unsigned char *line, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;

    for (size_t i = 0; i < n; i++) {
        char piece[3] = {(char)line[i], 0, 0};
        size_t w = 1;

        if (qp_escape(line, n, i)) {
            piece[0] = '=';
            piece[1] = hex[line[i] >> 4];
            piece[2] = hex[line[i] & 15];
            w = 3;
        }
        if (col + w > QP_LINE) {
            buf_str(b, "=\r\n");
            col = 0;
        }
        buf_add(b, piece, w);
        col += w;
    }
    buf_str(b, "\r\n");
}

static void
qp_text(struct buf *b, const char *s, size_t len)
{
    const char *end = s + len;

    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

        if (n > 0 && s[n - 1] == '\r')
            n--;
        qp_line(b, (const unsigned char *)s, n);
        s = nl ? nl + 1 : end;
    }
}

int
herald_mail_qp(const char *s, size_t len, char **out, size_t *out_len)
{
    struct buf b = {*out, *out_len, *out ? *out_len + 1 : 0, 0};

    qp_text(&b, s, len);
    if (b.failed)
        return -ENOMEM;
    *out = b.p;
    *out_len = b.len;
    return 0;
}

/* Whether a subject can go out as it is: printable ASCII only. */
static int
plain_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || (unsigned char)*s > '~')
            return 0;
    return 1;
}

/* Bytes of s, at most max, that end on a UTF-8 character boundary. */
static size_t
utf8_chunk(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n > 0 ? n : max;
}

/* Writes the Subject header: as it is, or as RFC 2047 encoded words. */
static void
subject_header(struct buf *b, const char *subject)
{
    char word[sodium_base64_ENCODED_LEN(WORD_BYTES,
                                        sodium_base64_VARIANT_ORIGINAL)];

    buf_str(b, "Subject:");
    if (plain_ascii(subject)) {
        buf_str(b, " ");
        buf_str(b, subject);
        buf_str(b, "\r\n");
        return;
    }
    while (*subject) {
        size_t n = utf8_chunk(subject, WORD_BYTES);

        sodium_bin2base64(word, sizeof(word), (const unsigned char *)subject,
                          n, sodium_base64_VARIANT_ORIGINAL);
        buf_printf(b, " =?UTF-8?B?%s?=%s", word, subject[n] ? "\r\n" : "");
        subject += n;
    }
    buf_str(b, "\r\n");
}

/* Whether a header value holds nothing that could end the header. */
static int
header_safe(const char *s)
{
    return s && *s && !strpbrk(s, "\r\n");
}

static int
boundary_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n >= 8 && n <= 60 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789-.") == n;
}

static int
valid(const struct herald_mail *m)
{
    char from[256];

    return header_safe(m->from) && header_safe(m->message_id) &&
           herald_mail_envelope_address(m->from, from, sizeof(from)) == 0 &&
           herald_mail_address_ok(m->to) && m->subject && m->text && m->html &&
           boundary_ok(m->boundary);
}

static void
part(struct buf *b, const char *boundary, const char *type, const char *s)
{
    buf_printf(b,
               "--%s\r\nContent-Type: %s; charset=utf-8\r\n"
               "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
               boundary, type);
    qp_text(b, s, strlen(s));
}

int
herald_mail_build(const struct herald_mail *m, char **out, size_t *len)
{
    struct buf b = {NULL, 0, 0, 0};
    char date[40];

    *out = NULL;
    *len = 0;
    if (!valid(m))
        return -EINVAL;

    buf_printf(&b, "Date: %s\r\n", herald_mail_date(m->date_ms, date, 40));
    buf_str(&b, "From: ");
    buf_str(&b, m->from);
    buf_printf(&b, "\r\nTo: %s\r\n", m->to);
    subject_header(&b, m->subject);
    buf_str(&b, "Message-ID: ");
    buf_str(&b, m->message_id);
    buf_str(&b, "\r\nMIME-Version: 1.0\r\n"
                "Auto-Submitted: auto-generated\r\n");
    buf_printf(&b,
               "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n",
               m->boundary);

    part(&b, m->boundary, "text/plain", m->text);
    part(&b, m->boundary, "text/html", m->html);
    buf_printf(&b, "--%s--\r\n", m->boundary);

    if (b.failed) {
        if (b.p)
            sodium_memzero(b.p, b.len);
        free(b.p);
        return -ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
