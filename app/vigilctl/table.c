/*
 * table.c — the tiny aligned-table printer of vigilctl (see table.h).
 */
#include "table.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

#define SEP "  "

struct table {
	size_t ncols;
	const char *const *head;
	const bool *right;
	size_t *width;
	char **cells;   /* nrows * ncols pending cells */
	char **notes;   /* nrows lines under the rows, or NULL */
	size_t nrows;
	size_t cap;     /* rows allocated */
	bool head_done;
};

struct table *table_new(size_t ncols, const char *const *headers,
			const bool *right)
{
	struct table *t = xmalloc(sizeof(*t));

	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->head = headers;
	t->right = right;
	t->width = xmalloc(ncols * sizeof(*t->width));
	for (size_t c = 0; c < ncols; c++)
		t->width[c] = text_width(headers[c]);
	return t;
}

void table_add(struct table *t, char **cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cells = xrealloc(t->cells,
				    t->cap * t->ncols * sizeof(*t->cells));
		t->notes = xrealloc(t->notes, t->cap * sizeof(*t->notes));
	}
	memcpy(t->cells + t->nrows * t->ncols, cells,
	       t->ncols * sizeof(*cells));
	t->notes[t->nrows] = NULL;
	t->nrows++;
}

void table_note(struct table *t, char *line)
{
	if (t->nrows == 0) {
		free(line);
		return;
	}
	free(t->notes[t->nrows - 1]);
	t->notes[t->nrows - 1] = line;
}

size_t table_pending(const struct table *t)
{
	return t->nrows;
}

static void table_widen(struct table *t)
{
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = text_width(t->cells[r * t->ncols + c]);

			if (w > t->width[c])
				t->width[c] = w;
		}
	}
}

static void pad(struct buf *line, size_t n)
{
	while (n--)
		buf_putc(line, ' ');
}

/* Prints one row of cells, aligned, without trailing blanks. */
static void table_line(const struct table *t, const char *const *cells,
		       FILE *f)
{
	struct buf line = { 0 };

	for (size_t c = 0; c < t->ncols; c++) {
		size_t gap = t->width[c] - text_width(cells[c]);

		if (c)
			buf_puts(&line, SEP);
		if (t->right[c])
			pad(&line, gap);
		buf_puts(&line, cells[c]);
		if (!t->right[c])
			pad(&line, gap);
	}
	while (line.len && line.p[line.len - 1] == ' ')
		line.len--;
	fwrite(line.p, 1, line.len, f);
	putc('\n', f);
	buf_free(&line);
}

void table_flush(struct table *t, FILE *f)
{
	table_widen(t);
	if (!t->head_done) {
		table_line(t, t->head, f);
		t->head_done = true;
	}
	for (size_t r = 0; r < t->nrows; r++) {
		char **row = t->cells + r * t->ncols;

		table_line(t, (const char *const *)row, f);
		for (size_t c = 0; c < t->ncols; c++)
			free(row[c]);
		if (t->notes[r]) {
			fputs(t->notes[r], f);
			putc('\n', f);
			free(t->notes[r]);
		}
	}
	t->nrows = 0;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	for (size_t r = 0; r < t->nrows; r++)
		free(t->notes[r]);
	free(t->cells);
	free(t->notes);
	free(t->width);
	free(t);
}
