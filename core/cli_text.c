/*
 * cli_text.c - a growing string, URL encoding, and terminal forms of
 * times and long texts for the command-line client.
 *
 * Called by the cli*.c files only; nothing here does I/O.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_text.h"

static int
grow(struct cli_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 64;
    char *s;

    if (b->len + need + 1 <= b->cap)
        return 0;
    while (cap < b->len + need + 1)
        cap *= 2;
    s = realloc(b->s, cap);
    if (!s)
        return -ENOMEM;
    b->s = s;
    b->cap = cap;
    return 0;
}

int
cli_buf_printf(struct cli_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(b, (size_t)n) != 0)
        return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

static int
unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

int
cli_buf_escape(struct cli_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    if (grow(b, strlen(s) * 3) != 0)
        return -ENOMEM;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p)) {
            b->s[b->len++] = (char)*p;
        } else {
            b->s[b->len++] = '%';
            b->s[b->len++] = hex[*p >> 4];
            b->s[b->len++] = hex[*p & 15];
        }
    }
    b->s[b->len] = '\0';
    return 0;
}

void
cli_buf_free(struct cli_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

const char *
cli_time(const char *t, char *buf, size_t len)
{
    /* "YYYY-MM-DDTHH:MM" is the part shown; seconds add nothing here. */
    static const char shape[] = "dddd-dd-ddTdd:dd";
    size_t n = sizeof(shape) - 1;

    if (!t || !*t) {
        snprintf(buf, len, "-");
        return buf;
    }
    for (size_t i = 0; i < n; i++) {
        int digit = t[i] >= '0' && t[i] <= '9';

        if (shape[i] == 'd' ? !digit : t[i] != shape[i]) {
            snprintf(buf, len, "%s", t);
            return buf;
        }
    }
    snprintf(buf, len, "%.10s %.5sZ", t, t + 11);
    return buf;
}

/* Whether c starts a code point (is not a UTF-8 continuation byte). */
static int
starts(unsigned char c)
{
    return (c & 0xC0) != 0x80;
}

size_t
cli_width(const char *s)
{
    size_t n = 0;

    for (; s && *s; s++)
        n += starts((unsigned char)*s);
    return n;
}

const char *
cli_clip(const char *s, size_t max, char *buf, size_t len)
{
    size_t out = 0, points = 0, cut = max > 3 ? max - 3 : 0;
    int clipped = cli_width(s) > max;

    if (len == 0)
        return buf;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;
         p++) {
        size_t seq = 1;

        if (starts(*p) && clipped && points == cut)
            break;
        while (p[seq] && !starts(p[seq]))
            seq++;
        if (out + seq + 4 > len)
            break;
        for (size_t i = 0; i < seq; i++)
            buf[out++] = (char)(p[i] < 0x20 || p[i] == 0x7F ? ' ' : p[i]);
        p += seq - 1;
        points++;
    }
    if (clipped) {
        memcpy(buf + out, "...", 3);
        out += 3;
    }
    buf[out] = '\0';
    return buf;
}
