/*
 * fuzz_twitter.c - the X plugin's reading of X's answers, fuzzed.
 *
 * Each input runs one operation of the plugin (code exchange, identity,
 * refresh, publish, revoke) against the mock host and answers its
 * requests from the input, as plugin_fuzz.h describes. The account holds
 * both tokens and the username publish() builds post URLs with.
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
    static json_t *extra;
    static struct herald_credentials creds = {
        .access_token = "AT-old",
        .refresh_token = "RT-old",
        .access_expires_at = 1780003600000LL,
    };
    static struct herald_account account = {
        .id = 7, .remote_id = "2244994945", .creds = &creds};
    struct fuzz_network net = {.account = &account};

    if (!extra) {
        extra = json_pack("{s:s}", "username", "XDevelopers");
        creds.extra = extra;
    }
    return fuzz_plugin_run(herald_plugin_entry(), &net, data, size);
}
