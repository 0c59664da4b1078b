/*
 * text.h — safe rendering of untrusted bytes for vigilctl.
 *
 * Everything vigilctl prints comes from Redis, where anyone who can write may
 * have put anything. These helpers turn arbitrary bytes into terminal-safe
 * table cells (no control characters, no escape sequences, valid UTF-8,
 * capped length) and into correctly escaped JSON strings.
 */
#ifndef VIGILCTL_TEXT_H
#define VIGILCTL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Longest table cell, in display columns; longer ones end in "…". */
#define CELL_MAX 64

/* A growable byte buffer; always NUL-terminated once something was put. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
};

void buf_put(struct buf *b, const char *s, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
/* Returns the (NUL-terminated, malloc'd) contents and empties b. */
char *buf_take(struct buf *b);
void buf_free(struct buf *b);

/* Allocation that never returns NULL: prints and exits 1 instead. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/*
 * Strict UTF-8: decodes one code point at s (n > 0 bytes available) and
 * returns its length, or 0 if the bytes there are not valid UTF-8 (overlong,
 * surrogate, beyond U+10FFFF, truncated).
 */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/*
 * A table cell for n untrusted bytes: controls, DEL and invalid UTF-8 become
 * \xNN, C1 and bidirectional controls \uNNNN; capped at CELL_MAX columns.
 * Present but empty values render as "". Returns a malloc'd string.
 */
char *text_cell(const char *s, size_t n);

/* The same with a cap of max columns (max >= 2), e.g. for messages. */
char *text_cell_max(const char *s, size_t n, size_t max);

/* Display width of a cell made by text_cell (one column per code point). */
size_t text_width(const char *s);

/* Writes n untrusted bytes as a JSON string (quotes included). */
void json_put_string(FILE *f, const char *s, size_t n);

/* True if s (n bytes) is a JSON number (RFC 8259 grammar), at most 64 bytes. */
bool json_is_number(const char *s, size_t n);

/*
 * Epoch seconds ("1767225601.234567") to UTC ISO-8601 with milliseconds
 * ("2026-01-01T00:00:01.234Z", truncated, not rounded). False (out left
 * untouched) if s is not plain decimal seconds between 0 and year 9999.
 */
bool text_epoch_iso(const char *s, size_t n, char out[32]);

/* Plain non-negative decimal seconds to "%.3f". False if s is not one. */
bool text_seconds3(const char *s, size_t n, char out[32]);

#endif /* VIGILCTL_TEXT_H */
