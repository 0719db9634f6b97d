/*
 * fuzz_linkedin.c - the LinkedIn plugin's reading of LinkedIn's answers,
 * fuzzed.
 *
 * Each input runs one operation of the plugin (code exchange with the
 * organizations step, identity, refresh, publish as the member or as an
 * organization, with an image upload, resumed from a checkpoint) against
 * the mock host and answers its requests from the input, as
 * plugin_fuzz.h describes. Organizations are on; posts with a link name
 * organization 222.
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
    static json_t *checkpoint;
    static struct herald_credentials creds = {
        .access_token = "AT-PLANTED-access",
        .refresh_token = "RT-PLANTED-refresh",
        .access_expires_at = 1785184000000LL,
        .hard_deadline = 1811104000000LL,
    };
    static struct herald_account account = {
        .id = 7, .remote_id = "782bbtaQ", .creds = &creds};
    struct fuzz_network net = {
        .account = &account,
        .target = "222",
        .config = "{\"organizations\": true}",
    };

    if (!checkpoint) {
        checkpoint = json_pack("{s:s, s:s}", "image", "urn:li:image:OLD",
                               "author", "urn:li:person:782bbtaQ");
        account.targets =
            json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "id", "111",
                      "name", "Acme", "kind", "organization", "id", "222",
                      "name", "Globex", "kind", "organization");
    }
    net.checkpoint = checkpoint;
    return fuzz_plugin_run(herald_plugin_entry(), &net, data, size);
}
