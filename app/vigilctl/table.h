/*
 * table.h — the tiny aligned-table printer of vigilctl.
 *
 * Rows are added as already-safe cells (see text_cell); table_flush computes
 * the column widths over the pending rows and prints them. Widths only grow,
 * so a long listing can be flushed in pages without holding every row. A
 * row may carry a note: a free line printed under it, outside the columns
 * (vigilctl flows: the application metadata of a flow).
 */
#ifndef VIGILCTL_TABLE_H
#define VIGILCTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct table;

/* ncols headers (static strings); right[i] right-aligns column i. */
struct table *table_new(size_t ncols, const char *const *headers,
			const bool *right);
/* Takes ownership of the ncols malloc'd strings in cells. */
void table_add(struct table *t, char **cells);
/* Takes ownership of line (malloc'd, already safe): printed under the row
 * added last. */
void table_note(struct table *t, char *line);
size_t table_pending(const struct table *t);
/* Prints the header (first time only) and the pending rows. */
void table_flush(struct table *t, FILE *f);
void table_free(struct table *t);

#endif /* VIGILCTL_TABLE_H */
