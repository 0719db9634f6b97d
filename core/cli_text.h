/*
 * cli_text.h - the text pieces of the command-line client: a growing
 * string, URL query encoding, and how times and long texts are shown in
 * a terminal.
 *
 * Pure functions with no I/O, called by the cli*.c files only. Widths
 * count Unicode code points, so a table of non-ASCII names still lines
 * up in a terminal that shows each on one cell.
 */
#ifndef HERALD_CLI_TEXT_H
#define HERALD_CLI_TEXT_H

#include <stddef.h>

/* A NUL-terminated string that grows; zero-initialise it. */
struct cli_buf {
    char *s;
    size_t len;
    size_t cap;
};

/*
 * Appends printf-formatted text to b. Returns 0, or -ENOMEM (then b is
 * left as it was).
 */
int cli_buf_printf(struct cli_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Appends s percent-encoded for a URL query value or path segment:
 * every byte but A-Z a-z 0-9 - . _ ~ becomes %XX. Returns 0 or -ENOMEM.
 */
int cli_buf_escape(struct cli_buf *b, const char *s);

/* Frees the string of b and zeroes it. */
void cli_buf_free(struct cli_buf *b);

/*
 * Writes an RFC 3339 UTC time ("2026-12-03T16:40:05.123Z") into buf as
 * "2026-12-03 16:40Z"; NULL or an empty string gives "-", and a string
 * of another shape is copied as it is. Returns buf.
 */
const char *cli_time(const char *rfc3339, char *buf, size_t len);

/* The number of code points in the UTF-8 string s (NULL: 0). */
size_t cli_width(const char *s);

/*
 * Writes s into buf on one line (each control character becomes a space)
 * and at most max code points long: a longer text ends with "...".
 * Never cuts a UTF-8 sequence. NULL gives "". Returns buf.
 */
const char *cli_clip(const char *s, size_t max, char *buf, size_t len);

#endif
