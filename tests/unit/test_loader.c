/*
 * test_loader.c - the plugin loader's acceptance and every refusal.
 *
 * Each fixture plugin (tests/fixtures) breaks one ABI rule. The test
 * copies it into a private plugin directory, loads it, checks the exact
 * reason, and checks with RTLD_NOLOAD that nothing of it stayed loaded.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "loader.h"
#include "log.h"

static char dir[] = "/tmp/herald-loader-XXXXXX";

static void
copy_fixture(const char *name, mode_t mode, char *out, size_t outlen)
{
    const char *fixtures = getenv("HERALD_FIXTURE_DIR");
    char src[512];
    char buf[65536];
    FILE *in;
    FILE *to;
    size_t n;

    snprintf(src, sizeof(src), "%s/%s.so", fixtures, name);
    snprintf(out, outlen, "%s/%s.so", dir, name);
    in = fopen(src, "rb");
    to = fopen(out, "wb");
    if (!in || !to) {
        fprintf(stderr, "cannot copy fixture '%s'\n", src);
        exit(2);
    }
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, to);
    fclose(in);
    fclose(to);
    chmod(out, mode);
}

/* Loads one fixture into reg and returns the refusal message, or "". */
static const char *
load(struct herald_registry *reg, const char *name, mode_t mode)
{
    static struct herald_error err;
    char path[512];
    void *still;

    copy_fixture(name, mode, path, sizeof(path));
    err.msg[0] = '\0';
    if (herald_loader_load_file(reg, path, &err) != 0) {
        still = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
        CHECK(still == NULL);
        if (still)
            dlclose(still);
    }
    unlink(path);
    return err.msg;
}

static void
test_good(void)
{
    struct herald_registry reg = {0};
    const struct herald_plugin *p;

    CHECK_STR(load(&reg, "good", 0755), "");
    CHECK(reg.count == 1);
    p = reg.networks[0].plugin;
    CHECK_STR(p->name, "fixture");
    CHECK(herald_plugin_has(p, offsetof(struct herald_plugin, publish)));
    CHECK(!herald_plugin_has(p, offsetof(struct herald_plugin, lookup)));
    CHECK(herald_registry_find(&reg, "fixture") == &reg.networks[0]);
    CHECK(herald_registry_find(&reg, "nope") == NULL);
    CHECK_STR(herald_token_model_name(p->token_model), "non_expiring");

    CHECK_STR(load(&reg, "second", 0755), "");
    CHECK_CONTAINS(load(&reg, "duplicate", 0755),
                   "duplicate.so' refused: network 'fixture' is already "
                   "loaded from '");
    CHECK(reg.count == 2);
    herald_registry_free(&reg);
    CHECK(reg.count == 0);
}

/* A plugin built for an older minor ABI loads, and keeps working. */
static void
test_older_minor(void)
{
    struct herald_registry reg = {0};

    CHECK_STR(load(&reg, "older_minor", 0755), "");
    CHECK(reg.count == 1);
    CHECK(reg.count == 1 && reg.networks[0].plugin->abi_minor == 0);
    herald_registry_free(&reg);
}

static void
expect_refusal(const char *fixture, const char *reason)
{
    struct herald_registry reg = {0};
    char want[1024];

    snprintf(want, sizeof(want), "plugin '%s/%s.so' refused: %s", dir, fixture,
             reason);
    CHECK_STR(load(&reg, fixture, 0755), want);
    CHECK(reg.count == 0);
    herald_registry_free(&reg);
}

static void
test_refusals(void)
{
    char msg[256];

    expect_refusal("other_major", "ABI major version 2, this herald runs 1");
    expect_refusal("newer_minor",
                   "ABI version 1.2 is newer than this herald's 1.1");
    snprintf(msg, sizeof(msg),
             "descriptor is 16 bytes, smaller than the %zu mandatory bytes",
             (size_t)HERALD_PLUGIN_MIN_SIZE);
    expect_refusal("too_small", msg);
    snprintf(msg, sizeof(msg),
             "build signature 'herald-abi-1/ptr4/be/jansson-1' does not "
             "match '%s'",
             HERALD_BUILD_SIGNATURE);
    expect_refusal("bad_signature", msg);
    expect_refusal("missing_op", "mandatory operation 'publish' is missing");
    expect_refusal("no_entry", "entry symbol 'herald_plugin_entry' not found");
    expect_refusal("bad_name", "network name is missing or not [a-z0-9_]");
}

static void
test_unsafe_files(void)
{
    struct herald_registry reg = {0};
    char path[512];
    char want[1024];
    struct herald_error err = {""};

    CHECK_CONTAINS(load(&reg, "undefined", 0755),
                   "undefined symbol: fixture_symbol_nobody_defines");

    snprintf(want, sizeof(want),
             "plugin '%s/good.so' refused: file '%s/good.so' is writable by "
             "other users (mode 0666)",
             dir, dir);
    CHECK_STR(load(&reg, "good", 0666), want);

    copy_fixture("good", 0755, path, sizeof(path));
    CHECK(chown(path, 4242, 4242) == 0);
    CHECK(herald_loader_load_file(&reg, path, &err) == -EPERM);
    CHECK_CONTAINS(err.msg, "good.so' is owned by uid 4242, not by root or "
                            "the daemon's user");
    unlink(path);

    snprintf(path, sizeof(path), "%s/missing.so", dir);
    CHECK(herald_loader_load_file(&reg, path, &err) == -ENOENT);
    CHECK_CONTAINS(err.msg, "missing.so' refused: No such file or directory");
    CHECK(reg.count == 0);
}

static void
test_directory(void)
{
    struct herald_registry reg = {0};
    struct herald_error err = {""};
    char path[512];
    char logpath[600];
    char log[8192] = "";
    int fd;
    ssize_t n;

    CHECK(herald_loader_check_dir("/nonexistent/plugins", &err) == -ENOENT);
    CHECK_STR(err.msg, "cannot use plugin directory '/nonexistent/plugins': "
                       "No such file or directory");

    chmod(dir, 0777);
    CHECK(herald_loader_load_dir(&reg, dir, &err) == -EPERM);
    CHECK_CONTAINS(err.msg, "is writable by other users (mode 0777)");
    chmod(dir, 0755);

    copy_fixture("good", 0755, path, sizeof(path));
    copy_fixture("second", 0755, path, sizeof(path));
    copy_fixture("other_major", 0755, path, sizeof(path));
    snprintf(logpath, sizeof(logpath), "%s.log", dir);
    fd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    herald_log_set_fd(fd);
    CHECK(herald_loader_load_dir(&reg, dir, &err) == 0);
    herald_log_set_fd(2);
    CHECK(reg.count == 2);

    n = pread(fd, log, sizeof(log) - 1, 0);
    log[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(logpath);
    CHECK_CONTAINS(log, "err loader: plugin '");
    CHECK_CONTAINS(log, "other_major.so' refused: ABI major version 2");
    CHECK_CONTAINS(log, "info loader: loaded network 'fixture' 1.0.0");
    herald_registry_free(&reg);

    unlink(path);
    snprintf(path, sizeof(path), "%s/good.so", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/other_major.so", dir);
    unlink(path);
}

int
main(void)
{
    if (!mkdtemp(dir))
        return 2;
    chmod(dir, 0755);
    test_good();
    test_older_minor();
    test_refusals();
    test_unsafe_files();
    test_directory();
    rmdir(dir);
    return check_done();
}
