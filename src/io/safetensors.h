/* safetensors.h - strict safetensors reader and atomic writer, and HF checkpoint folders.
 *
 * File format: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON header, then the data
 * section. The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]}
 * with offsets relative to the data section (file offset 8 + N); an optional "__metadata__"
 * object holds string -> string pairs.
 *
 * READING. st_open reads and validates the header only and keeps the file descriptor; tensor
 * data is read later with pread in bounded chunks straight into the caller's buffer (no mmap,
 * so truncation is a status, never SIGBUS; data at odd file offsets is never accessed through
 * a misaligned pointer). Every violation is PF_ERR_FORMAT with a one-line message
 * "PATH: <what>", naming the tensor, field or byte offset and the rule. Checked, in order:
 *   - size: file >= 8 bytes; 0 < N <= ST_MAX_HEADER (100 000 000) and N <= size - 8, all
 *     before anything sized by N is allocated ("header length N exceeds limit 100000000 /
 *     file size S").
 *   - text: the header starts with '{' (no leading whitespace, as the reference loader);
 *     valid UTF-8 ("header is not valid UTF-8 at byte B"); no raw control characters or
 *     \u0000 in strings; nesting <= ST_MAX_JSON_DEPTH; at most ST_MAX_TENSORS top-level
 *     entries (tensors and __metadata__) and ST_MAX_JSON_TOKENS tokens (bounds the parse tree before it is built);
 *     then valid JSON (cJSON), followed only by whitespace (the writer's padding).
 *   - schema: "__metadata__", if present, is an object of string values with unique keys;
 *     every other entry is an object with exactly dtype (one of the names below; unknown
 *     names such as "F128" are an error), shape (array of <= ST_MAX_DIMS non-negative JSON
 *     integers; negative, 2.0, 2.5, strings rejected) and data_offsets (2 non-negative
 *     integers, begin <= end). Numbers are read from their source text, so 2^64-2 is seen
 *     exactly (not as a rounded double). Duplicate names are an error, never "last wins".
 *   - sizes: numel and byte size computed with overflow checks; bytes must equal end-begin.
 *   - layout: sorted by (begin, end), the first tensor starts at 0 and each next one at the
 *     previous end (no overlap, no gap); the last ends exactly at the end of the file:
 *     "incomplete buffer" when the data section is shorter, "trailing bytes" when longer.
 * Scalars (shape []) have numel 1; zero-size tensors ([2,0], offsets [k,k]) are valid.
 *
 * st_read_* compare n with numel, read, and then re-check the file's size and mtime: a short
 * read or a changed file gives PF_ERR_IO "PATH: file changed while loading: ...". An
 * in-place overwrite that keeps size and mtime is not detected (a checksum would be needed).
 *
 * WRITING. st_write writes tensors sorted by name, the header padded with spaces to a
 * multiple of 8, data contiguous in header order; atomically: "<path>.tmp.XXXXXX" in the
 * same directory, fsync, rename over path, fsync of the directory. On failure the temporary
 * file is removed and an existing file at path is left untouched. It rejects (PF_ERR_ARG)
 * what the reader would reject: empty or non-UTF-8 names, "__metadata__", duplicates, more
 * than ST_MAX_DIMS dimensions, negative dimensions, overflowing sizes, too many tensors.
 * Finite values are the caller's concern.
 *
 * Ownership: struct st_file and struct st_checkpoint own everything they point to; st_close
 * and st_checkpoint_close free it (safe on a zeroed or already-closed struct). On a failed
 * open the struct is left zeroed. Not thread-safe for open/close; concurrent st_read_* on
 * one open file are fine (pread has no shared file position). Little-endian hosts only. */
#ifndef PF_SAFETENSORS_H
#define PF_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER 100000000u  /* bytes of JSON header (the reference loader's limit) */
#define ST_MAX_TENSORS 100000     /* entries per file: bounds parse time and memory */
#define ST_MAX_JSON_TOKENS 2000000 /* strings, numbers, literals and containers */
#define ST_MAX_JSON_DEPTH 16      /* a valid header needs 3; cJSON's own limit is 1000 */

/* Every dtype the safetensors format defines (0.6). Sub-byte types are packed: a tensor's
 * bit count must be a multiple of 8. */
enum st_dtype {
    ST_BOOL, ST_U8, ST_I8, ST_I16, ST_U16, ST_F16, ST_BF16, ST_I32, ST_U32, ST_F32, ST_F64,
    ST_I64, ST_U64, ST_C64, ST_F8_E4M3, ST_F8_E5M2, ST_F8_E8M0, ST_F6_E2M3, ST_F6_E3M2, ST_F4,
    ST_NDTYPES
};

/* "F32", ... ; "?" for an out-of-range value. */
const char *st_dtype_name(enum st_dtype dt);
/* Bits per element (4 for F4, 6 for F6_*), 0 for an out-of-range value. */
unsigned st_dtype_bits(enum st_dtype dt);
/* Bytes per element for whole-byte dtypes, 0 for sub-byte and out-of-range ones. */
size_t st_dtype_size(enum st_dtype dt);
/* Exact name lookup; returns 0 and sets *dt, or -1 for an unknown name. */
int st_dtype_parse(const char *name, enum st_dtype *dt);

struct st_info {
    char *name;
    enum st_dtype dtype;
    int ndim; /* 0 for a scalar */
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    uint64_t nbytes;
    uint64_t begin, end; /* data_offsets as in the header: relative to st_file.data_start */
};

struct st_file {
    char *path;
    int fd; /* -1 when closed */
    uint64_t size;       /* file size at open */
    int64_t mtime_sec;   /* at open, to notice a file changed under us */
    long mtime_nsec;
    uint64_t header_len; /* N */
    uint64_t data_start; /* 8 + N */
    int n;
    struct st_info *t;   /* sorted by name (strcmp) */
    int n_meta;
    char **meta_keys;    /* sorted by key; meta_vals[i] belongs to meta_keys[i] */
    char **meta_vals;
};

/* Open path, read and validate its header (rules above). Keeps the descriptor for reads. */
pf_status st_open(struct st_file *f, const char *path, struct pf_err *err);
void st_close(struct st_file *f);

/* Binary search by exact name; NULL when absent. */
const struct st_info *st_find(const struct st_file *f, const char *name);
/* Metadata value for key, or NULL. */
const char *st_meta(const struct st_file *f, const char *key);

/* Read tensor t of f into dst as float32; n must equal t->numel. F32, F16 and BF16 are
 * accepted (exact widening); any other dtype is PF_ERR_UNSUPPORTED: "PATH: unsupported dtype
 * I64 for tensor 'x' (expected F32, F16 or BF16)". Peak extra memory: one 32 KiB chunk. */
pf_status st_read_f32(const struct st_file *f, const struct st_info *t, float *dst, int64_t n,
                      struct pf_err *err);
/* Read an I32 tensor, or an I64 one whose values all fit in int32 (else PF_ERR_FORMAT naming
 * the first element that does not), into dst; n must equal t->numel. */
pf_status st_read_i32(const struct st_file *f, const struct st_info *t, int32_t *dst, int64_t n,
                      struct pf_err *err);
/* Read the raw little-endian bytes of t; nbytes must equal t->nbytes. */
pf_status st_read_raw(const struct st_file *f, const struct st_info *t, void *dst,
                      uint64_t nbytes, struct pf_err *err);

/* A checkpoint folder: either DIR/model.safetensors or DIR/model.safetensors.index.json,
 *   {"metadata": {...}, "weight_map": {"name": "model-00001-of-00002.safetensors", ...}}
 * (having both is an error: we will not pick one silently). Validated: the index is UTF-8
 * JSON of at most 64 MiB with an object "weight_map" of string values (other top-level keys
 * are ignored); shard names are plain file names ending in ".safetensors" (no '/', no '\\',
 * not hidden); every shard opens and validates; every weight_map name is in its shard and
 * in no other shard; every tensor of every shard is in the weight_map. Errors name the
 * index or shard file. */
struct st_entry {
    const char *name;           /* owned by files[file] */
    int file;                   /* index into files */
    const struct st_info *info; /* owned by files[file] */
};

struct st_checkpoint {
    char *dir;
    int nfiles;
    struct st_file *files;
    int n;
    struct st_entry *entries; /* sorted by name */
};

pf_status st_checkpoint_open(struct st_checkpoint *c, const char *dir, struct pf_err *err);
void st_checkpoint_close(struct st_checkpoint *c);
/* The tensor and (if file is not NULL) its file, or NULL when absent. */
const struct st_info *st_checkpoint_find(const struct st_checkpoint *c, const char *name,
                                         const struct st_file **file);

/* One tensor to write. data holds numel elements of dtype in host memory (little-endian),
 * or, when from_f32 is set, numel floats converted on the way out to dtype (F32, F16 or BF16,
 * round to nearest even, see io/half.h). data may be NULL only for zero-size tensors. */
struct st_wtensor {
    const char *name;
    enum st_dtype dtype;
    int ndim;
    const int64_t *shape; /* may be NULL when ndim == 0 */
    const void *data;
    int from_f32;
};

/* Write n tensors and n_meta metadata pairs (meta_kv = k0, v0, k1, v1, ...; keys unique,
 * all valid UTF-8) to path atomically (see above). PF_ERR_ARG for invalid input, PF_ERR_IO
 * for file system failures ("PATH: write failed: No space left on device"). */
pf_status st_write(const char *path, const struct st_wtensor *t, int n,
                   const char *const *meta_kv, int n_meta, struct pf_err *err);

#endif
