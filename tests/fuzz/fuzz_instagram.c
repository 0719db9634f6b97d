/*
 * fuzz_instagram.c - the Instagram plugin's reading of Instagram's
 * answers, fuzzed.
 *
 * Each input runs one operation of the plugin (code exchange with the
 * long-lived token, identity, refresh, publish with its container steps,
 * resume and lookup from a checkpoint) against the mock host and answers
 * its requests from the input, as plugin_fuzz.h describes.
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
        .access_token = "IGAA-secret-long-token",
        .access_expires_at = 1785184000000LL,
        .hard_deadline = 1785184000000LL,
    };
    static struct herald_account account = {
        .id = 7, .remote_id = "17841400000000001", .creds = &creds};
    struct fuzz_network net = {
        .account = &account,
        /* Few polls of a container, so a container never ready ends. */
        .config = "{\"container_poll_limit\": 3}",
    };

    if (!checkpoint) {
        checkpoint = json_pack("{s:s}", "container_id", "C9");
        creds.extra = json_pack("{s:I, s:b}", "issued_at",
                                (json_int_t)1779000000000LL, "kept", 1);
    }
    net.checkpoint = checkpoint;
    return fuzz_plugin_run(herald_plugin_entry(), &net, data, size);
}
