/*
 * test_api_oauth.c - what the OAuth callback answers a person with: the
 * HTML page and the redirect back to the calling app.
 *
 * A network may name an account with a username of any length. The page
 * once had a fixed 4 KiB buffer and wrote past it for a username of a
 * few thousand characters; it must now hold the whole name, escaped.
 */
#include <stdlib.h>
#include <string.h>

#include "api_private.h"
#include "check.h"

static const char tail[] =
    ".</p>\n<p>You can close this window.</p>\n</body></html>\n";

static void
test_page_connected(void)
{
    struct herald_oauth_result r = {
        .status = 200,
        .code = "connected",
        .message = "the account is connected",
        .network = "X",
        .username = "<al&ce's \"name\">",
    };
    size_t len = 0;
    char *page = herald_api_callback_page(&r, &len);

    CHECK(page != NULL);
    if (!page)
        return;
    CHECK(len == strlen(page));
    CHECK_CONTAINS(page, "<h1>Connected</h1>\n<p>X account <strong>"
                         "&lt;al&amp;ce&#39;s &quot;name&quot;&gt;"
                         "</strong>: the account is connected");
    CHECK(len > strlen(tail) && strcmp(page + len - strlen(tail), tail) == 0);
    free(page);
}

static void
test_page_refused(void)
{
    struct herald_oauth_result r = {
        .status = 403,
        .code = "access_denied",
        .message = "access to X was not granted (<b>)",
        .network = "X",
        .username = "never shown",
    };
    size_t len = 0;
    char *page = herald_api_callback_page(&r, &len);

    CHECK(page != NULL);
    if (!page)
        return;
    CHECK_CONTAINS(page, "<h1>Not connected</h1>\n<p>access to X was not "
                         "granted (&lt;b&gt;).</p>");
    CHECK(strstr(page, "never shown") == NULL);
    free(page);
}

/* 5000 quotes escape to 30000 bytes: far past the old 4 KiB page. */
static void
test_page_long_username(void)
{
    char *name = malloc(5001);
    struct herald_oauth_result r = {
        .status = 200,
        .code = "connected",
        .message = "the account is connected",
        .network = "LinkedIn",
    };
    size_t len = 0;
    size_t quotes = 0;
    char *page;

    if (!name)
        return;
    memset(name, '"', 5000);
    name[5000] = '\0';
    r.username = name;
    page = herald_api_callback_page(&r, &len);
    CHECK(page != NULL);
    if (page) {
        for (const char *p = page; (p = strstr(p, "&quot;")); p += 6)
            quotes++;
        CHECK(quotes == 5000);
        CHECK_CONTAINS(page, "&quot;</strong>: the account is connected");
        CHECK(len > strlen(tail) &&
              strcmp(page + len - strlen(tail), tail) == 0);
    }
    free(page);
    free(name);
}

static void
test_location(void)
{
    struct herald_oauth_result ok = {
        .status = 200,
        .code = "connected",
        .account_id = 12,
        .return_url = "https://app.example.com/done",
    };
    struct herald_oauth_result refused = {
        .status = 400,
        .code = "invalid_state",
        .return_url = "https://app.example.com/done?tab=a b",
    };
    char *loc = herald_api_callback_location(&ok);

    CHECK_STR(loc, "Location: https://app.example.com/done?status=connected"
                   "&account_id=12");
    free(loc);
    loc = herald_api_callback_location(&refused);
    CHECK_STR(loc, "Location: https://app.example.com/done?tab=a b"
                   "&status=error&error=invalid_state");
    free(loc);
}

int
main(void)
{
    test_page_connected();
    test_page_refused();
    test_page_long_username();
    test_location();
    return check_done();
}
