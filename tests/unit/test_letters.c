/*
 * test_letters.c - the words of herald's emails: each event type's
 * subject and paragraphs, singular and plural, deadlines, expired posts
 * counted, the one-time link in both parts, text wrapped at 72 columns,
 * and names escaped in the HTML.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "letters.h"

#define DAY_MS (24 * 3600 * 1000LL)
#define NOW    1796306709120LL /* 3 December 2026 14:05:09 UTC */
#define LINK   "https://herald.example/v1/r/AbCdEfGhIjKlMnOpQrStUvWxYz0123"

static struct herald_letter_facts
facts(const char *type)
{
    struct herald_letter_facts f = {
        .event_type = type,
        .network = "LinkedIn",
        .username = "Alice Example",
        .reason = "access was revoked",
        .released = -1,
        .now = NOW,
        .link = LINK,
        .link_expires_at = NOW + 7 * DAY_MS,
    };

    return f;
}

/* Every line of text fits in 72 columns, but a URL on its own. */
static void
check_wrapped(const char *text)
{
    const char *line = text;

    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);

        CHECK(n <= 72 || strncmp(line, "https://", 8) == 0);
        line = end ? end + 1 : line + n;
    }
}

static void
test_disconnected(void)
{
    struct herald_letter_facts f = facts("account.disconnected");
    struct herald_letter l;

    f.blocked = 3;
    f.scheduled = 47;
    f.deadline = NOW + 30 * DAY_MS;
    CHECK(herald_letter_write(&f, &l) == 0);
    CHECK_STR(l.subject,
              "Please reconnect your LinkedIn account Alice Example");
    CHECK_CONTAINS(l.text, "Your LinkedIn account Alice Example was");
    CHECK_CONTAINS(l.text, "was revoked.");
    CHECK_CONTAINS(l.text, "3 posts that fell due are on hold, and 47 more");
    CHECK_CONTAINS(l.text, "2 January 2027 at 14:05 UTC");
    CHECK_CONTAINS(l.text, "Reconnect in one click:\n" LINK "\n");
    CHECK_CONTAINS(l.text, "until 10 December 2026 at 14:05 UTC");
    CHECK_CONTAINS(l.html, "<a href=\"" LINK "\"");
    check_wrapped(l.text);
    herald_letter_clear(&l);
    CHECK(l.text == NULL && l.subject == NULL);

    f.blocked = 1;
    f.scheduled = 0;
    f.deadline = 0;
    CHECK(herald_letter_write(&f, &l) == 0);
    CHECK_CONTAINS(l.text, "1 post that fell due is on hold.");
    CHECK_CONTAINS(l.text, "as soon as you can");
    herald_letter_clear(&l);

    f.blocked = 0;
    CHECK(herald_letter_write(&f, &l) == 0);
    CHECK_CONTAINS(l.text, "No posts are waiting");
    herald_letter_clear(&l);
}

static void
test_reminders(void)
{
    struct herald_letter_facts f = facts("account.expiring");
    struct herald_letter l;

    f.network = "Facebook";
    f.deadline = NOW + 7 * DAY_MS;
    f.days = 7;
    f.scheduled = 1;
    CHECK(herald_letter_write(&f, &l) == 0);
    CHECK_STR(l.subject, "Reminder: log in again to keep your Facebook "
                         "account Alice Example connected");
    CHECK_CONTAINS(l.text, "7 days from now");
    CHECK_CONTAINS(l.text, "1 post is scheduled on it.");
    CHECK_CONTAINS(l.text, "Log in again in one click:\n" LINK);
    herald_letter_clear(&l);

    f = facts("account.reconnect_deadline");
    f.deadline = NOW + DAY_MS - 1000;
    CHECK(herald_letter_write(&f, &l) == 0);
    CHECK_STR(l.subject,
              "Reminder: reconnect your LinkedIn account Alice Example");
    CHECK_CONTAINS(l.text, "1 day from now");
    CHECK_CONTAINS(l.text, LINK);
    herald_letter_clear(&l);
}

static void
test_reconnected(void)
{
    struct herald_letter_facts f = facts("account.reconnected");
    struct herald_letter l;

    f.link = NULL;
    f.released = 50;
    CHECK(herald_letter_write(&f, &l) == 0);
    CHECK_STR(l.subject, "Your LinkedIn account Alice Example is connected "
                         "again");
    CHECK_CONTAINS(l.text, "The 50 posts on hold are on their way");
    CHECK(strstr(l.text, "http") == NULL);
    herald_letter_clear(&l);

    f.released = 1;
    CHECK(herald_letter_write(&f, &l) == 0);
    CHECK_CONTAINS(l.text, "The 1 post on hold is on its way, in its");
    herald_letter_clear(&l);

    f.released = -1;
    CHECK(herald_letter_write(&f, &l) == 0);
    CHECK_CONTAINS(l.text, "Posts that were on hold will now go out");
    herald_letter_clear(&l);
}

static void
test_expired(void)
{
    struct herald_letter_facts f = facts("post.expired");
    struct herald_letter l;

    f.link = NULL;
    f.expired = 4;
    f.limit_s = 3 * 3600;
    CHECK(herald_letter_write(&f, &l) == 0);
    CHECK_STR(l.subject, "4 posts on your LinkedIn account Alice Example "
                         "were not published");
    CHECK_CONTAINS(l.text, "more than 3 hours after the time");
    CHECK_CONTAINS(l.text, "schedule them again");
    CHECK(strstr(l.text, "http") == NULL);
    check_wrapped(l.text);
    herald_letter_clear(&l);

    f.expired = 1;
    f.limit_s = 90;
    CHECK(herald_letter_write(&f, &l) == 0);
    CHECK_STR(l.subject, "1 post on your LinkedIn account Alice Example "
                         "was not published");
    CHECK_CONTAINS(l.text, "more than 90 seconds after");
    herald_letter_clear(&l);

    f.limit_s = 0;
    CHECK(herald_letter_write(&f, &l) == 0);
    CHECK_CONTAINS(l.text, "it would have gone out later than allowed");
    herald_letter_clear(&l);
    CHECK(herald_letter_exists("post.expired"));
    CHECK(!herald_letter_wants_link("post.expired"));
}

static void
test_escaping_and_refusals(void)
{
    struct herald_letter_facts f = facts("account.disconnected");
    struct herald_letter l;
    char date[48];

    f.username = "<script>&\"'";
    CHECK(herald_letter_write(&f, &l) == 0);
    CHECK(strstr(l.html, "<script>") == NULL);
    CHECK_CONTAINS(l.html, "&lt;script&gt;&amp;&quot;&#39;");
    herald_letter_clear(&l);

    f = facts("post.published");
    CHECK(herald_letter_write(&f, &l) == -ENOTSUP);
    f = facts("account.disconnected");
    f.username = NULL;
    CHECK(herald_letter_write(&f, &l) == -EINVAL);

    CHECK(herald_letter_exists("account.disconnected"));
    CHECK(herald_letter_exists("account.reconnected"));
    CHECK(!herald_letter_exists("account.degraded"));
    CHECK(!herald_letter_exists(NULL));
    CHECK(herald_letter_wants_link("account.expiring"));
    CHECK(!herald_letter_wants_link("account.reconnected"));
    CHECK_STR(herald_letter_date(NOW, date, sizeof(date)),
              "3 December 2026 at 14:05 UTC");
}

int
main(void)
{
    test_disconnected();
    test_reminders();
    test_reconnected();
    test_expired();
    test_escaping_and_refusals();
    return check_done();
}
