/*
 * loader.h - finds, checks and loads network plugins.
 *
 * The loader owns the list of loaded networks. It opens every "*.so" in
 * the plugin directory with RTLD_NOW | RTLD_LOCAL, calls its one entry
 * symbol and checks the descriptor against the ABI rules of
 * herald/plugin.h. A refused plugin is logged with its file and the
 * reason and leaves nothing loaded. Called from the loop thread at
 * startup only.
 *
 * Invariant: every struct herald_network in a registry holds a descriptor
 * that passed every check, and its shared object stays open until the
 * registry is freed.
 */
#ifndef HERALD_LOADER_H
#define HERALD_LOADER_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"
#include "herald/plugin.h"

/* One loaded plugin. */
struct herald_network {
    char *path;                         /* the .so it came from */
    void *handle;                       /* dlopen() handle */
    const struct herald_plugin *plugin; /* the checked descriptor */
    json_t *config;  /* validated network config, or NULL if none */
    int enabled;     /* configured, enabled and initialised */
    void *state;     /* what init() returned */
    int initialised; /* init() succeeded: fini() is owed */
};

struct herald_registry {
    struct herald_network *networks;
    size_t count;
};

/*
 * Checks that dir can be trusted as a plugin directory: it exists, is a
 * directory, and is not writable by group or others. Returns 0, or a
 * negative errno value with err naming the directory.
 */
int herald_loader_check_dir(const char *dir, struct herald_error *err);

/*
 * Loads one plugin file into reg. On refusal returns a negative errno
 * value, fills err with "plugin 'PATH' refused: REASON" and leaves reg and
 * the process unchanged (the object is dlclose()d).
 */
int herald_loader_load_file(struct herald_registry *reg, const char *path,
                            struct herald_error *err);

/*
 * Checks dir, then loads every regular "*.so" file in it in name order.
 * Each refusal is logged at LOG_ERR and skipped. Returns 0, or a negative
 * errno value when the directory itself is unusable (err says why).
 */
int herald_loader_load_dir(struct herald_registry *reg, const char *dir,
                           struct herald_error *err);

/* Returns the network named name, or NULL. */
struct herald_network *herald_registry_find(struct herald_registry *reg,
                                            const char *name);

/*
 * Returns non-zero when the descriptor of net has the optional member at
 * offset (an offsetof() into struct herald_plugin) and it is set.
 */
int herald_plugin_has(const struct herald_plugin *plugin, size_t offset);

/* Returns the name of a token model ("rotating_refresh", ...). */
const char *herald_token_model_name(enum herald_token_model model);

/*
 * Calls fini() on every initialised plugin, frees configs, closes every
 * shared object and empties reg.
 */
void herald_registry_free(struct herald_registry *reg);

#endif
