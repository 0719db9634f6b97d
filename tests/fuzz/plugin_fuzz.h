/*
 * plugin_fuzz.h - drives one network plugin's operations with network
 * answers taken from a fuzz input.
 *
 * The fuzz_<network>.c targets link one plugin's sources with the mock
 * host (tests/mock/mockhost.h) and hand each input to fuzz_plugin_run(),
 * which configures the plugin from its own schema's defaults, starts the
 * operation the input picks and answers every request the plugin sends
 * with the next response of the input. It aborts, which libFuzzer reports
 * as a crash, when the plugin breaks the host contract: completing an
 * operation twice or never, or with an outcome the core cannot read.
 *
 * An input is: one byte picking the operation (fuzz_plugin_run() lists
 * them), then responses separated by NUL bytes. A response is one byte
 * picking the status (a transport failure or an HTTP status from a
 * table), then "Name: value" header lines ended by an empty line ("\n\n"),
 * then the body; a response without "\n\n" is all body. Requests left
 * when the input runs out fail to connect.
 */
#ifndef HERALD_PLUGIN_FUZZ_H
#define HERALD_PLUGIN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "herald/plugin.h"

/* What one network's target adds to the generic run. */
struct fuzz_network {
    /* The account the operations act on (credentials, targets). */
    const struct herald_account *account;
    /* The target a post names, or NULL. */
    const char *target;
    /* A checkpoint an interrupted publish left (resume and lookup), or
     * NULL when the plugin keeps none. Borrowed. */
    json_t *checkpoint;
    /* A JSON object of plugin keys set apart from their defaults, or
     * NULL. */
    const char *config;
};

/*
 * Runs the operation and responses in data (size bytes) against plugin,
 * set up afresh for this input and torn down after it. Returns 0; aborts
 * on a broken contract.
 */
int fuzz_plugin_run(const struct herald_plugin *plugin,
                    const struct fuzz_network *net, const uint8_t *data,
                    size_t size);

#endif
