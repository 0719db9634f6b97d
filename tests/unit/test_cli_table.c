/*
 * test_cli_table.c - the command-line client's aligned tables: widths
 * from the widest cell in code points, no padding after the last
 * column, NULL cells as "-", tables without headings.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "cli_table.h"

/* Prints t into a string (caller frees). */
static char *
print(const struct cli_table *t)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    cli_table_print(t, f);
    fclose(f);
    return text;
}

static void
test_aligned(void)
{
    const char *heads[] = {"ID", "NAME", "STATUS"};
    const char *r1[] = {"1", "alice", "Active"};
    const char *r2[] = {"12", "Zoë Ünver", NULL};
    struct cli_table *t = cli_table_new(3, heads);
    char *text;

    CHECK(t != NULL);
    CHECK(cli_table_rows(t) == 0);
    CHECK(cli_table_add(t, r1) == 0);
    CHECK(cli_table_add(t, r2) == 0);
    CHECK(cli_table_rows(t) == 2);
    text = print(t);
    CHECK_STR(text, "ID  NAME       STATUS\n"
                    "1   alice      Active\n"
                    "12  Zoë Ünver  -\n");
    free(text);
    cli_table_free(t);
}

static void
test_pairs_and_growth(void)
{
    struct cli_table *t = cli_table_new(2, NULL);
    char name[16], *text;
    int ok = 1;

    for (int i = 0; i < 40; i++) {
        const char *row[] = {name, "v"};

        snprintf(name, sizeof(name), "k%d", i);
        ok &= cli_table_add(t, row) == 0;
    }
    CHECK(ok);
    CHECK(cli_table_rows(t) == 40);
    text = print(t);
    CHECK(strncmp(text, "k0   v\nk1   v\n", 14) == 0);
    CHECK_CONTAINS(text, "k39  v\n");
    free(text);
    cli_table_free(t);

    t = cli_table_new(1, NULL);
    text = print(t);
    CHECK_STR(text, "");
    free(text);
    cli_table_free(t);
    cli_table_free(NULL);
}

int
main(void)
{
    CHECK(cli_table_new(0, NULL) == NULL);
    CHECK(cli_table_new(CLI_TABLE_MAX_COLUMNS + 1, NULL) == NULL);
    test_aligned();
    test_pairs_and_growth();
    return check_done();
}
