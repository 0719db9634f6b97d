/*
 * letters.c - the words of herald's emails.
 *
 * A letter is written as a short list of paragraphs and an optional
 * link, then rendered twice: as plain text wrapped at 72 columns and as
 * a small HTML page. Each event type has one function that chooses its
 * paragraphs; the rendering is shared.
 */
#include "letters.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define MAX_PARAGRAPHS 6
#define TEXT_COLUMNS   72
#define DAY_MS         (24 * 3600 * 1000LL)

/* A letter being written: its paragraphs, then its link if any. */
struct draft {
    char *subject;
    char *paragraphs[MAX_PARAGRAPHS];
    size_t count;
    const char *link;
    char *link_intro; /* the words before the link in the text */
    char *link_label; /* the words of the HTML button */
    char *link_note;  /* how long the link works */
    int failed;
};

static char *__attribute__((format(printf, 1, 0)))
vformat(const char *fmt, va_list ap)
{
    char *s = NULL;

    return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

static char *__attribute__((format(printf, 2, 3)))
format(struct draft *d, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = vformat(fmt, ap);
    va_end(ap);
    if (!s)
        d->failed = 1;
    return s;
}

static void __attribute__((format(printf, 2, 3)))
say(struct draft *d, const char *fmt, ...)
{
    va_list ap;
    char *s;

    if (d->count == MAX_PARAGRAPHS) {
        d->failed = 1;
        return;
    }
    va_start(ap, fmt);
    s = vformat(fmt, ap);
    va_end(ap);
    if (!s)
        d->failed = 1;
    else
        d->paragraphs[d->count++] = s;
}

const char *
herald_letter_date(int64_t ms, char *buf, size_t len)
{
    static const char *const months[] = {
        "January", "February", "March",     "April",   "May",      "June",
        "July",    "August",   "September", "October", "November", "December",
    };
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, len, "%d %s %d at %02d:%02d UTC", tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
    return buf;
}

/* Whole days left until deadline, rounded up: "in 7 days". */
static int64_t
days_left(const struct herald_letter_facts *f)
{
    int64_t left = f->deadline - f->now;

    if (f->days > 0)
        return f->days;
    return left > 0 ? (left + DAY_MS - 1) / DAY_MS : 0;
}

static const char *
plural(int64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* What a disconnection means for the account's posts. */
static void
say_posts_held(struct draft *d, const struct herald_letter_facts *f)
{
    long long b = (long long)f->blocked, s = (long long)f->scheduled;

    if (b > 0 && s > 0)
        say(d,
            "%lld %s that fell due %s on hold, and %lld more %s scheduled. "
            "Nothing is lost: they will go out, in their order, once you "
            "reconnect.",
            b, plural(b, "post", "posts"), plural(b, "is", "are"), s,
            plural(s, "is", "are"));
    else if (b > 0)
        say(d,
            "%lld %s that fell due %s on hold. Nothing is lost: %s will go "
            "out, in order, once you reconnect.",
            b, plural(b, "post", "posts"), plural(b, "is", "are"),
            plural(b, "it", "they"));
    else if (s > 0)
        say(d,
            "%lld %s scheduled on it. %s will wait, and go out once you "
            "reconnect.",
            s, plural(s, "post is", "posts are"), plural(s, "It", "They"));
    else
        say(d, "No posts are waiting on it; new ones will wait until you "
               "reconnect.");
}

static void
add_link(struct draft *d, const struct herald_letter_facts *f,
         const char *label)
{
    char until[48];

    if (!f->link)
        return;
    d->link = f->link;
    d->link_intro = format(d, "%s in one click:", label);
    d->link_label = format(d, "%s", label);
    d->link_note = format(d,
                          "The link works once, until %s. If it has "
                          "expired, ask for a new one.",
                          herald_letter_date(f->link_expires_at, until, 48));
}

static void
write_disconnected(struct draft *d, const struct herald_letter_facts *f)
{
    char by[48];

    d->subject = format(d, "Please reconnect your %s account %s", f->network,
                        f->username);
    say(d, "Your %s account %s was disconnected from herald%s%s.", f->network,
        f->username, f->reason ? ": " : "", f->reason ? f->reason : "");
    say_posts_held(d, f);
    if (f->deadline > f->now)
        say(d,
            "Please reconnect by %s. It takes one click and one login "
            "to %s.",
            herald_letter_date(f->deadline, by, 48), f->network);
    else
        say(d,
            "Please reconnect as soon as you can. It takes one click "
            "and one login to %s.",
            f->network);
    add_link(d, f, "Reconnect");
}

static void
write_expiring(struct draft *d, const struct herald_letter_facts *f)
{
    char by[48];
    int64_t days = days_left(f);
    long long s = (long long)f->scheduled;

    d->subject = format(d,
                        "Reminder: log in again to keep your %s account "
                        "%s connected",
                        f->network, f->username);
    say(d,
        "Your %s account %s stays connected until %s, %lld %s from now. "
        "%s does not let herald renew it after that: it needs you to log "
        "in again.",
        f->network, f->username, herald_letter_date(f->deadline, by, 48),
        (long long)days, plural(days, "day", "days"), f->network);
    if (s > 0)
        say(d, "%lld %s scheduled on it.", s,
            plural(s, "post is", "posts are"));
    say(d, "Logging in again now keeps everything going without a break.");
    add_link(d, f, "Log in again");
}

static void
write_reconnect_deadline(struct draft *d, const struct herald_letter_facts *f)
{
    char by[48];
    int64_t days = days_left(f);

    d->subject = format(d, "Reminder: reconnect your %s account %s",
                        f->network, f->username);
    say(d,
        "Your %s account %s is still disconnected. Please reconnect it by "
        "%s, %lld %s from now: after that, %s may no longer give access to "
        "the account's older data.",
        f->network, f->username, herald_letter_date(f->deadline, by, 48),
        (long long)days, plural(days, "day", "days"), f->network);
    say_posts_held(d, f);
    add_link(d, f, "Reconnect");
}

static void
write_reconnected(struct draft *d, const struct herald_letter_facts *f)
{
    long long r = (long long)f->released;

    d->subject = format(d, "Your %s account %s is connected again", f->network,
                        f->username);
    say(d, "Your %s account %s is connected again. Thank you!", f->network,
        f->username);
    if (r > 0)
        say(d, "The %lld %s on hold %s on %s way, in %s original order.", r,
            plural(r, "post", "posts"), plural(r, "is", "are"),
            plural(r, "its", "their"), plural(r, "its", "their"));
    else if (r == 0)
        say(d, "No posts were on hold.");
    else
        say(d, "Posts that were on hold will now go out, in their order.");
}

/* "3 hours", "1 day", "90 seconds": the largest whole unit. */
static char *
span(struct draft *d, int64_t s)
{
    static const struct {
        int64_t seconds;
        const char *one, *many;
    } units[] = {
        {86400, "day", "days"},
        {3600, "hour", "hours"},
        {60, "minute", "minutes"},
    };

    for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++)
        if (s >= units[i].seconds && s % units[i].seconds == 0)
            return format(
                d, "%lld %s", (long long)(s / units[i].seconds),
                plural(s / units[i].seconds, units[i].one, units[i].many));
    return format(d, "%lld %s", (long long)s, plural(s, "second", "seconds"));
}

static void
write_expired(struct draft *d, const struct herald_letter_facts *f)
{
    long long n = (long long)(f->expired > 0 ? f->expired : 1);
    char *limit = f->limit_s > 0 ? span(d, f->limit_s) : NULL;

    d->subject = format(d, "%lld %s on your %s account %s %s not published", n,
                        plural(n, "post", "posts"), f->network, f->username,
                        plural(n, "was", "were"));
    if (limit)
        say(d,
            "%lld scheduled %s on your %s account %s %s not published: "
            "%s would have gone out more than %s after the time %s %s "
            "scheduled for, which is later than allowed.",
            n, plural(n, "post", "posts"), f->network, f->username,
            plural(n, "was", "were"), plural(n, "it", "they"), limit,
            plural(n, "it", "they"), plural(n, "was", "were"));
    else
        say(d,
            "%lld scheduled %s on your %s account %s %s not published: "
            "%s would have gone out later than allowed.",
            n, plural(n, "post", "posts"), f->network, f->username,
            plural(n, "was", "were"), plural(n, "it", "they"));
    free(limit);
    say(d,
        "Nothing was posted for %s, and herald will not try again. If you "
        "still want %s out, schedule %s again.",
        plural(n, "it", "them"), plural(n, "it", "them"),
        plural(n, "it", "them"));
}

static const struct {
    const char *type;
    void (*write)(struct draft *, const struct herald_letter_facts *);
    int link;
} letters[] = {
    {"account.disconnected", write_disconnected, 1},
    {"account.expiring", write_expiring, 1},
    {"account.reconnect_deadline", write_reconnect_deadline, 1},
    {"account.reconnected", write_reconnected, 0},
    {"post.expired", write_expired, 0},
};

#define LETTER_COUNT (sizeof(letters) / sizeof(*letters))

static int
find_letter(const char *type)
{
    for (size_t i = 0; type && i < LETTER_COUNT; i++)
        if (strcmp(letters[i].type, type) == 0)
            return (int)i;
    return -1;
}

int
herald_letter_exists(const char *event_type)
{
    return find_letter(event_type) >= 0;
}

int
herald_letter_wants_link(const char *event_type)
{
    int i = find_letter(event_type);

    return i >= 0 && letters[i].link;
}

/* A growing string; keeps its first failure. */
struct text {
    char *p;
    size_t len;
    size_t cap;
    int failed;
};

static void
put(struct text *t, const char *s, size_t n)
{
    char *grown;
    size_t cap;

    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        cap = t->cap ? t->cap * 2 : 1024;
        while (cap < t->len + n + 1)
            cap *= 2;
        grown = realloc(t->p, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->p = grown;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void
puts_(struct text *t, const char *s)
{
    put(t, s, strlen(s));
}

/* Appends a paragraph wrapped at TEXT_COLUMNS, then a blank line. */
static void
put_wrapped(struct text *t, const char *s)
{
    size_t col = 0;

    while (*s) {
        size_t word = strcspn(s, " ");

        if (col > 0 && col + 1 + word > TEXT_COLUMNS) {
            puts_(t, "\n");
            col = 0;
        } else if (col > 0) {
            puts_(t, " ");
            col++;
        }
        put(t, s, word);
        col += word;
        s += word;
        while (*s == ' ')
            s++;
    }
    puts_(t, "\n\n");
}

static void
put_escaped(struct text *t, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            puts_(t, "&lt;");
            break;
        case '>':
            puts_(t, "&gt;");
            break;
        case '&':
            puts_(t, "&amp;");
            break;
        case '"':
            puts_(t, "&quot;");
            break;
        case '\'':
            puts_(t, "&#39;");
            break;
        default:
            put(t, s, 1);
        }
    }
}

static char *
render_text(const struct draft *d)
{
    struct text t = {0};

    puts_(&t, "Hello,\n\n");
    for (size_t i = 0; i < d->count; i++)
        put_wrapped(&t, d->paragraphs[i]);
    if (d->link) {
        puts_(&t, d->link_intro);
        puts_(&t, "\n");
        puts_(&t, d->link);
        puts_(&t, "\n\n");
        put_wrapped(&t, d->link_note);
    }
    puts_(&t, "Thank you.\n");
    if (t.failed)
        free(t.p);
    return t.failed ? NULL : t.p;
}

static char *
render_html(const struct draft *d)
{
    struct text t = {0};

    puts_(&t, "<!doctype html>\n<html lang=\"en\"><head><meta "
              "charset=\"utf-8\"><title>");
    put_escaped(&t, d->subject);
    puts_(&t, "</title></head>\n<body style=\"font-family:sans-serif;"
              "line-height:1.5;max-width:36em\">\n<p>Hello,</p>\n");
    for (size_t i = 0; i < d->count; i++) {
        puts_(&t, "<p>");
        put_escaped(&t, d->paragraphs[i]);
        puts_(&t, "</p>\n");
    }
    if (d->link) {
        puts_(&t, "<p><a href=\"");
        put_escaped(&t, d->link);
        puts_(&t, "\" style=\"display:inline-block;padding:.6em 1.2em;"
                  "background:#1a5fb4;color:#fff;border-radius:4px;"
                  "text-decoration:none\">");
        put_escaped(&t, d->link_label);
        puts_(&t, "</a></p>\n<p style=\"color:#555;font-size:90%\">");
        put_escaped(&t, d->link_note);
        puts_(&t, "</p>\n");
    }
    puts_(&t, "<p>Thank you.</p>\n</body></html>\n");
    if (t.failed)
        free(t.p);
    return t.failed ? NULL : t.p;
}

static void
free_draft(struct draft *d)
{
    for (size_t i = 0; i < d->count; i++)
        free(d->paragraphs[i]);
    free(d->subject);
    free(d->link_intro);
    free(d->link_label);
    free(d->link_note);
}

int
herald_letter_write(const struct herald_letter_facts *f,
                    struct herald_letter *out)
{
    struct draft d = {0};
    int i = find_letter(f->event_type);
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (i < 0)
        return -ENOTSUP;
    if (!f->network || !f->username)
        return -EINVAL;
    letters[i].write(&d, f);
    if (!d.failed) {
        out->text = render_text(&d);
        out->html = render_html(&d);
        out->subject = d.subject;
        d.subject = NULL;
    }
    if (d.failed || !out->text || !out->html || !out->subject) {
        herald_letter_clear(out);
        rc = -ENOMEM;
    }
    free_draft(&d);
    return rc;
}

static void
wipe(char *s)
{
    if (s)
        sodium_memzero(s, strlen(s));
    free(s);
}

void
herald_letter_clear(struct herald_letter *l)
{
    if (!l)
        return;
    free(l->subject);
    wipe(l->text);
    wipe(l->html);
    memset(l, 0, sizeof(*l));
}
