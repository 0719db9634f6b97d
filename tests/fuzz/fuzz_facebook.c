/*
 * fuzz_facebook.c - the Facebook plugin's reading of the Graph API's
 * answers, fuzzed.
 *
 * Each input runs one operation of the plugin (code exchange with its
 * long-lived token and Page steps, identity, refresh, publish to a Page)
 * against the mock host and answers its requests from the input, as
 * plugin_fuzz.h describes. The account holds a long-lived user token and
 * the tokens of two Pages; posts with a link name Page 111.
 */
#include <stddef.h>
#include <stdint.h>

#include "plugin_fuzz.h"

/* The plugin's one exported symbol (HERALD_PLUGIN_ENTRY). */
const struct herald_plugin *herald_plugin_entry(void);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct herald_credentials creds = {
        .access_token = "user-token-LONG",
        .access_expires_at = 1782592000000LL,
        .hard_deadline = 1782592000000LL,
    };
    static struct herald_account account = {
        .id = 7, .remote_id = "10211111111111111", .creds = &creds};
    struct fuzz_network net = {
        .account = &account,
        .target = "111",
        /* Few Pages and requests, so an endless Page list ends soon. */
        .config = "{\"pages_limit\": 3, \"pages_max_requests\": 3}",
    };

    if (!creds.extra)
        creds.extra = json_pack("{s{ssss}}", "pages", "111", "page-token-111",
                                "222", "page-token-222");
    return fuzz_plugin_run(herald_plugin_entry(), &net, data, size);
}
