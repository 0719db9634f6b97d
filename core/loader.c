/*
 * loader.c - opens plugin files and checks their descriptors.
 *
 * A plugin is trusted code running inside the daemon, so the loader is
 * strict: the file and its directory must not be writable by anyone but
 * their owner, the owner must be root or the daemon's user, and the
 * descriptor must match the ABI this core was built with. Every refusal
 * path dlclose()s what it opened; nothing of a refused plugin remains.
 */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

typedef const struct herald_plugin *(*entry_fn)(void);

static const char *const token_model_names[] = {
    [HERALD_TOKEN_ROTATING_REFRESH] = "rotating_refresh",
    [HERALD_TOKEN_FIXED_DEADLINE_REFRESH] = "fixed_deadline_refresh",
    [HERALD_TOKEN_SELF_EXTENDING] = "self_extending",
    [HERALD_TOKEN_EXCHANGE_ONLY] = "exchange_only",
    [HERALD_TOKEN_NON_EXPIRING] = "non_expiring",
};

const char *
herald_token_model_name(enum herald_token_model model)
{
    if (model < HERALD_TOKEN_ROTATING_REFRESH ||
        model > HERALD_TOKEN_NON_EXPIRING)
        return "unknown";
    return token_model_names[model];
}

int
herald_plugin_has(const struct herald_plugin *plugin, size_t offset)
{
    const void *const *member;

    if (offset + sizeof(void *) > plugin->size)
        return 0;
    member = (const void *const *)((const char *)plugin + offset);
    return *member != NULL;
}

/* Refuses paths that someone other than their owner could replace. */
static int
check_trusted(const struct stat *st, const char *what, const char *path,
              struct herald_error *err)
{
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        herald_error_set(err, "%s '%s' is writable by other users (mode %04o)",
                         what, path, (unsigned)(st->st_mode & 07777));
        return -EPERM;
    }
    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        herald_error_set(err,
                         "%s '%s' is owned by uid %u, not by root or the "
                         "daemon's user",
                         what, path, (unsigned)st->st_uid);
        return -EPERM;
    }
    return 0;
}

int
herald_loader_check_dir(const char *dir, struct herald_error *err)
{
    struct stat st;

    if (stat(dir, &st) < 0) {
        int rc = -errno;
        herald_error_set(err, "cannot use plugin directory '%s': %s", dir,
                         strerror(errno));
        return rc;
    }
    if (!S_ISDIR(st.st_mode)) {
        herald_error_set(err, "plugin directory '%s' is not a directory", dir);
        return -ENOTDIR;
    }
    return check_trusted(&st, "plugin directory", dir, err);
}

static int
valid_name(const char *name)
{
    size_t n = 0;

    if (!name || !*name)
        return 0;
    for (; name[n]; n++) {
        char c = name[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return n <= 32;
}

/* The mandatory operations, by name and offset, for the checks below. */
static const struct {
    const char *name;
    size_t offset;
} mandatory_ops[] = {
    {"init", offsetof(struct herald_plugin, init)},
    {"fini", offsetof(struct herald_plugin, fini)},
    {"authorize_url", offsetof(struct herald_plugin, authorize_url)},
    {"exchange", offsetof(struct herald_plugin, exchange)},
    {"identity", offsetof(struct herald_plugin, identity)},
    {"refresh", offsetof(struct herald_plugin, refresh)},
    {"publish", offsetof(struct herald_plugin, publish)},
};

static int
check_version(const struct herald_plugin *p, struct herald_error *err)
{
    if (p->abi_major != HERALD_ABI_MAJOR) {
        herald_error_set(err, "ABI major version %u, this herald runs %u",
                         (unsigned)p->abi_major, (unsigned)HERALD_ABI_MAJOR);
        return -EPROTO;
    }
    if (p->abi_minor > HERALD_ABI_MINOR) {
        herald_error_set(err,
                         "ABI version %u.%u is newer than this herald's "
                         "%u.%u",
                         (unsigned)p->abi_major, (unsigned)p->abi_minor,
                         (unsigned)HERALD_ABI_MAJOR,
                         (unsigned)HERALD_ABI_MINOR);
        return -EPROTO;
    }
    if (p->size < HERALD_PLUGIN_MIN_SIZE) {
        herald_error_set(err,
                         "descriptor is %u bytes, smaller than the %zu "
                         "mandatory bytes",
                         (unsigned)p->size, (size_t)HERALD_PLUGIN_MIN_SIZE);
        return -EPROTO;
    }
    if (!p->signature || strcmp(p->signature, HERALD_BUILD_SIGNATURE) != 0) {
        herald_error_set(err, "build signature '%s' does not match '%s'",
                         p->signature ? p->signature : "(none)",
                         HERALD_BUILD_SIGNATURE);
        return -EPROTO;
    }
    return 0;
}

static int
check_declarations(const struct herald_plugin *p, struct herald_error *err)
{
    if (!valid_name(p->name)) {
        herald_error_set(err, "network name is missing or not [a-z0-9_]");
        return -EINVAL;
    }
    for (size_t i = 0; i < sizeof(mandatory_ops) / sizeof(*mandatory_ops);
         i++) {
        if (!herald_plugin_has(p, mandatory_ops[i].offset)) {
            herald_error_set(err, "mandatory operation '%s' is missing",
                             mandatory_ops[i].name);
            return -EINVAL;
        }
    }
    if (!p->display_name || !p->version) {
        herald_error_set(err, "display name or version is missing");
        return -EINVAL;
    }
    if (strcmp(herald_token_model_name(p->token_model), "unknown") == 0) {
        herald_error_set(err, "token model %d is unknown",
                         (int)p->token_model);
        return -EINVAL;
    }
    if (!p->content) {
        herald_error_set(err, "content rules are missing");
        return -EINVAL;
    }
    return 0;
}

static int
check_descriptor(const struct herald_registry *reg,
                 const struct herald_plugin *p, struct herald_error *err)
{
    int rc;

    rc = check_version(p, err);
    if (rc == 0)
        rc = check_declarations(p, err);
    if (rc != 0)
        return rc;

    for (size_t i = 0; i < reg->count; i++) {
        if (strcmp(reg->networks[i].plugin->name, p->name) == 0) {
            herald_error_set(err, "network '%s' is already loaded from '%s'",
                             p->name, reg->networks[i].path);
            return -EEXIST;
        }
    }
    return 0;
}

static int
open_plugin(const char *path, void **handle,
            const struct herald_plugin **plugin, struct herald_error *err)
{
    entry_fn entry;
    void *sym;

    *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*handle) {
        const char *why = dlerror();
        herald_error_set(err, "%s", why ? why : "dlopen failed");
        return -ENOEXEC;
    }

    sym = dlsym(*handle, HERALD_PLUGIN_ENTRY_NAME);
    if (!sym) {
        herald_error_set(err, "entry symbol '%s' not found",
                         HERALD_PLUGIN_ENTRY_NAME);
        return -ENOEXEC;
    }

    /* POSIX guarantees that dlsym() results convert to function pointers. */
    memcpy(&entry, &sym, sizeof(entry));
    *plugin = entry();
    if (!*plugin) {
        herald_error_set(err, "entry symbol returned no descriptor");
        return -ENOEXEC;
    }
    return 0;
}

static int
append(struct herald_registry *reg, const char *path, void *handle,
       const struct herald_plugin *plugin)
{
    struct herald_network *grown;
    struct herald_network *net;

    grown = realloc(reg->networks, (reg->count + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    reg->networks = grown;
    net = &reg->networks[reg->count];
    memset(net, 0, sizeof(*net));
    net->path = strdup(path);
    if (!net->path)
        return -ENOMEM;
    net->handle = handle;
    net->plugin = plugin;
    reg->count++;
    return 0;
}

int
herald_loader_load_file(struct herald_registry *reg, const char *path,
                        struct herald_error *err)
{
    const struct herald_plugin *plugin = NULL;
    void *handle = NULL;
    struct stat st;
    int rc;

    if (stat(path, &st) < 0) {
        rc = -errno;
        herald_error_set(err, "%s", strerror(errno));
        goto refuse;
    }
    if (!S_ISREG(st.st_mode)) {
        herald_error_set(err, "not a regular file");
        rc = -EINVAL;
        goto refuse;
    }
    rc = check_trusted(&st, "file", path, err);
    if (rc != 0)
        goto refuse;

    rc = open_plugin(path, &handle, &plugin, err);
    if (rc == 0)
        rc = check_descriptor(reg, plugin, err);
    if (rc == 0)
        rc = append(reg, path, handle, plugin);
    if (rc == -ENOMEM)
        herald_error_set(err, "out of memory");
    if (rc == 0)
        return 0;

refuse:
    if (handle)
        dlclose(handle);
    herald_error_prefix(err, "plugin '%s' refused", path);
    return rc;
}

static int
is_plugin_name(const char *name)
{
    size_t len = strlen(name);

    return name[0] != '.' && len > 3 && strcmp(name + len - 3, ".so") == 0;
}

static int
load_entries(struct herald_registry *reg, const char *dir,
             struct dirent **entries, int count)
{
    for (int i = 0; i < count; i++) {
        struct herald_error why = {""};
        char *path;

        if (!is_plugin_name(entries[i]->d_name))
            continue;
        if (asprintf(&path, "%s/%s", dir, entries[i]->d_name) < 0)
            return -ENOMEM;
        if (herald_loader_load_file(reg, path, &why) == 0) {
            const struct herald_plugin *p =
                reg->networks[reg->count - 1].plugin;
            HLOG(LOG_INFO, "loader", "loaded network '%s' %s from '%s'",
                 p->name, p->version, path);
        } else {
            HLOG(LOG_ERR, "loader", "%s", why.msg);
        }
        free(path);
    }
    return 0;
}

int
herald_loader_load_dir(struct herald_registry *reg, const char *dir,
                       struct herald_error *err)
{
    struct dirent **entries = NULL;
    int count;
    int rc;

    rc = herald_loader_check_dir(dir, err);
    if (rc != 0)
        return rc;

    count = scandir(dir, &entries, NULL, alphasort);
    if (count < 0) {
        rc = -errno;
        herald_error_set(err, "cannot read plugin directory '%s': %s", dir,
                         strerror(errno));
        return rc;
    }
    rc = load_entries(reg, dir, entries, count);
    if (rc != 0)
        herald_error_set(err, "out of memory loading plugins");

    for (int i = 0; i < count; i++)
        free(entries[i]);
    free(entries);
    return rc;
}

struct herald_network *
herald_registry_find(struct herald_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->count; i++) {
        if (strcmp(reg->networks[i].plugin->name, name) == 0)
            return &reg->networks[i];
    }
    return NULL;
}

void
herald_registry_free(struct herald_registry *reg)
{
    for (size_t i = 0; i < reg->count; i++) {
        struct herald_network *net = &reg->networks[i];

        if (net->initialised)
            net->plugin->fini(net->state);
        json_decref(net->config);
        dlclose(net->handle);
        free(net->path);
    }
    free(reg->networks);
    reg->networks = NULL;
    reg->count = 0;
}
