/* test_safetensors.c - the strict reader, the atomic writer and checkpoint folders against
 * reliability cases 1-6 and 9 (../shared/reference/reliability-cases.md); each test names
 * its case. Files live in a mkdtemp folder under /tmp that every test removes. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/half.h"
#include "io/safetensors.h"

/* ---- helpers ---- */

static char tdir[64];

static void tdir_make(void) {
    strcpy(tdir, "/tmp/bipeft-st-XXXXXX");
    cr_assert_not_null(mkdtemp(tdir));
}

static void rm_tree(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            chmod(p, 0755);
            rm_tree(p);
        } else {
            unlink(p);
        }
    }
    closedir(d);
    rmdir(path);
}

static void tdir_clean(void) {
    rm_tree(tdir);
}

static const char *tpath(const char *name) {
    static char buf[32][256]; /* a ring: a result stays valid for the next 31 calls */
    static int k;
    k = (k + 1) % 32;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tdir, name);
    return buf[k];
}

static void put_bytes(const char *path, const void *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp, "cannot create %s", path);
    cr_assert_eq(fwrite(p, 1, n, fp), n);
    cr_assert_eq(fclose(fp), 0);
}

/* 8-byte length `hlen_claim`, then hdr (its real length), then data. */
static void put_raw_n(const char *path, uint64_t hlen_claim, const char *hdr, size_t hlen,
                      const void *data, size_t dlen) {
    size_t n = 8 + hlen + dlen;
    unsigned char *b = malloc(n ? n : 1);
    cr_assert_not_null(b);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(hlen_claim >> (8 * i));
    memcpy(b + 8, hdr, hlen);
    if (dlen)
        memcpy(b + 8 + hlen, data, dlen);
    put_bytes(path, b, n);
    free(b);
}

static void put_raw(const char *path, const char *hdr, const void *data, size_t dlen) {
    put_raw_n(path, strlen(hdr), hdr, strlen(hdr), data, dlen);
}

static unsigned char *get_bytes(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    cr_assert_eq(fread(b, 1, *n, fp), *n);
    fclose(fp);
    return b;
}

/* st_open must fail with code and a one-line message starting with the path and holding
 * `want`. */
static void expect_open_fail(const char *path, pf_status code, const char *want) {
    struct st_file f;
    struct pf_err err = {0};
    pf_status st = st_open(&f, path, &err);
    cr_assert_eq(st, code, "%s: status %d, want %d (%s)", path, st, code, err.msg);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "message must start with the path: %s",
              err.msg);
    cr_assert(strstr(err.msg, want), "message '%s' lacks '%s'", err.msg, want);
    cr_assert_null(strchr(err.msg, '\n'), "one line: %s", err.msg);
    cr_assert_eq(f.fd, -1);
    cr_assert_null(f.t);
}

static void hdr_fail(const char *hdr, const void *data, size_t dlen, const char *want) {
    const char *p = tpath("x.safetensors");
    put_raw(p, hdr, data, dlen);
    expect_open_fail(p, PF_ERR_FORMAT, want);
}

/* Time bounds are for the optimised build; ASan's allocator makes the parse several times
 * slower, so sanitized builds get SAN_SLACK times the budget. */
#ifdef __SANITIZE_ADDRESS__
#define SAN_SLACK 4.0
#else
#define SAN_SLACK 1.0
#endif

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long maxrss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int count_tmp_files(void) {
    DIR *d = opendir(tdir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

/* A small valid file: w F32 [2,3] = 0..5, b I64 [2] = {7, -3}; metadata format=pt. */
static void write_small(const char *path) {
    float w[6] = {0, 1, 2, 3, 4, 5};
    int64_t b[2] = {7, -3};
    int64_t sw[2] = {2, 3}, sb[1] = {2};
    struct st_wtensor t[2] = {
        {.name = "w", .dtype = ST_F32, .ndim = 2, .shape = sw, .data = w},
        {.name = "b", .dtype = ST_I64, .ndim = 1, .shape = sb, .data = b},
    };
    const char *meta[2] = {"format", "pt"};
    struct pf_err err = {0};
    cr_assert_eq(st_write(path, t, 2, meta, 1, &err), PF_OK, "%s", err.msg);
}

TestSuite(safetensors, .init = tdir_make, .fini = tdir_clean);

/* ---- case 1: truncated files ---- */

Test(safetensors, case1_truncated_everywhere) {
    const char *good = tpath("good.safetensors");
    write_small(good);
    size_t n;
    unsigned char *b = get_bytes(good, &n);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | b[i];
    struct {
        size_t cut;
        const char *want;
    } cuts[] = {
        {0, "file is 0 bytes, too small for the 8-byte header length"},
        {7, "file is 7 bytes, too small"},
        {8, "exceeds file size 8"},
        {8 + (size_t)hl / 2, "exceeds file size"},
        {8 + (size_t)hl, "incomplete buffer: data section is 0 bytes, tensors need 40"},
        {8 + (size_t)hl + 20, "incomplete buffer: data section is 20 bytes, tensors need 40"},
        {n - 1, "incomplete buffer: data section is 39 bytes, tensors need 40"},
    };
    cr_assert_eq(n, 8 + hl + 40);
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        const char *p = tpath("cut.safetensors");
        put_bytes(p, b, cuts[i].cut);
        expect_open_fail(p, PF_ERR_FORMAT, cuts[i].want);
    }
    free(b);
}

/* ---- case 2: header length lies, rejected before allocating ---- */

Test(safetensors, case2_huge_header_length) {
    const char *p = tpath("x.safetensors");
    char junk[1016];
    memset(junk, ' ', sizeof junk);
    put_raw_n(p, UINT64_C(10) << 30, junk, sizeof junk, NULL, 0); /* a 1 KB file */
    struct st_file f;
    struct pf_err err = {0};
    long rss0 = maxrss_kb();
    double t0 = now_s();
    cr_assert_eq(st_open(&f, p, &err), PF_ERR_FORMAT);
    double dt = now_s() - t0;
    long grow_kb = maxrss_kb() - rss0;
    char want[512];
    snprintf(want, sizeof want, "%s: header length 10737418240 exceeds limit 100000000 / file size 1024", p);
    cr_assert_str_eq(err.msg, want);
    cr_assert_lt(dt, 0.010, "took %.6f s", dt);
    cr_assert_lt(grow_kb, 10 * 1024, "peak RSS grew %ld KB", grow_kb);

    put_raw_n(p, UINT64_MAX, junk, sizeof junk, NULL, 0);
    expect_open_fail(p, PF_ERR_FORMAT, "header length 18446744073709551615 exceeds limit");
    put_raw_n(p, UINT64_MAX - 7, junk, sizeof junk, NULL, 0); /* N + 8 wraps to 0 */
    expect_open_fail(p, PF_ERR_FORMAT, "header length 18446744073709551608 exceeds limit");
    put_raw_n(p, 2000, junk, sizeof junk, NULL, 0); /* under the cap, over the file */
    expect_open_fail(p, PF_ERR_FORMAT, "header length 2000 exceeds file size 1024");
    put_raw_n(p, 0, junk, sizeof junk, NULL, 0);
    expect_open_fail(p, PF_ERR_FORMAT, "header length is 0");
}

/* ---- case 3: offset attacks ---- */

#define T(name, off) "\"" name "\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":" off "}"

Test(safetensors, case3_offsets) {
    char d[64] = {0};
    hdr_fail("{" T("a", "[0,16]") "," T("b", "[8,24]") "}", d, 24,
             "tensor 'a': data_offsets [0,16] overlap tensor 'b' [8,24]");
    hdr_fail("{" T("a", "[0,16]") "," T("b", "[20,36]") "}", d, 36,
             "tensor 'b': data_offsets [20,36] leave a gap after tensor 'a' (ends at 16)");
    hdr_fail("{" T("a", "[8,24]") "}", d, 24,
             "tensor 'a': data_offsets [8,24]: the first tensor must start at 0");
    hdr_fail("{" T("a", "[16,0]") "}", d, 16, "tensor 'a': data_offsets [16,0] end before begin");
    hdr_fail("{" T("a", "[0,16]") "," T("b", "[16,32]") "}", d, 20,
             "incomplete buffer: data section is 20 bytes, tensors need 32 (tensor 'b'");
    hdr_fail("{" T("a", "[0,16]") "}", d, 20,
             "trailing bytes: tensors end at 16, data section is 20 bytes");
    hdr_fail("{}", d, 4, "trailing bytes: tensors end at 0, data section is 4 bytes");
}

Test(safetensors, case3_ten_thousand_on_one_span) {
    /* the safetensors test_json_attack DoS: 10 000 tensors all on [0,16] */
    size_t cap = 10000 * 80 + 16;
    char *h = malloc(cap);
    size_t o = (size_t)snprintf(h, cap, "{");
    for (int i = 0; i < 10000; i++)
        o += (size_t)snprintf(h + o, cap - o,
                              "%s\"t%05d\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}",
                              i ? "," : "", i);
    snprintf(h + o, cap - o, "}");
    char d[16] = {0};
    double t0 = now_s();
    hdr_fail(h, d, 16, "tensor 't00000': data_offsets [0,16] overlap tensor 't00001' [0,16]");
    cr_assert_lt(now_s() - t0, 1.0);
    free(h);
}

/* ---- case 4: shape and dtype lies ---- */

Test(safetensors, case4_shape_dtype_lies) {
    char d[64] = {0};
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,4]}}", d, 4,
             "tensor 'w': shape [2,2] with dtype F32 needs 16 bytes, data_offsets give 4");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,9223372036854775807],\"data_offsets\":[0,4]}}",
             d, 4, "tensor 'w': shape [2,9223372036854775807] product overflows");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,18446744073709551614],\"data_offsets\":[0,4]}}",
             d, 4, "tensor 'w': shape[1] = 18446744073709551614 overflows");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,18446744073709551616],\"data_offsets\":[0,4]}}",
             d, 4, "shape[1] = 18446744073709551616 overflows 64 bits");
    hdr_fail("{\"w\":{\"dtype\":\"U8\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}",
             d, 4, "product overflows");
    hdr_fail("{\"w\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}",
             d, 4, "byte size overflows");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", d, 4,
             "tensor 'w': shape[0] is -1, must be a non-negative integer");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", d, 8,
             "tensor 'w': shape[0] is 2.0, must be an integer");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", d, 8,
             "shape[0] is 2.5, must be an integer");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[1e1],\"data_offsets\":[0,8]}}", d, 8,
             "shape[0] is 1e1, must be an integer");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", d, 8,
             "tensor 'w': shape[0] is a string, must be a non-negative integer");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", d, 8,
             "shape[0] is 02, not a JSON integer");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-0,8]}}", d, 8,
             "data_offsets[0] is -0, must be a non-negative integer");
    hdr_fail("{\"w\":{\"dtype\":\"F128\",\"shape\":[2],\"data_offsets\":[0,8]}}", d, 8,
             "tensor 'w': unknown dtype 'F128'");
    hdr_fail("{\"w\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", d, 8,
             "unknown dtype 'f32'");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}",
             d, 8, "tensor 'w': shape has 9 dimensions, limit 8");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", d, 8,
             "tensor 'w': unknown key 'x'");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", d, 8, "tensor 'w': missing 'data_offsets'");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", d,
             8, "tensor 'w': duplicate key 'dtype'");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", d, 8,
             "data_offsets has 3 entries, must have 2");
    hdr_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", d, 8,
             "shape is a number, must be an array");
    hdr_fail("{\"w\":[1]}", d, 8, "tensor 'w': entry must be an object, got an array");
    hdr_fail("{\"w\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", d, 2,
             "is not a whole number of bytes");
}

Test(safetensors, case4_unsupported_dtype_for_compute) {
    const char *p = tpath("x.safetensors");
    char d[8] = {0};
    put_raw(p,
            "{\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]},"
            "\"m\":{\"dtype\":\"BOOL\",\"shape\":[2,2],\"data_offsets\":[4,8]}}",
            d, 8);
    struct st_file f;
    struct pf_err err = {0};
    cr_assert_eq(st_open(&f, p, &err), PF_OK, "%s", err.msg); /* parsed: a valid dtype */
    float out[4];
    cr_assert_eq(st_read_f32(&f, st_find(&f, "q"), out, 4, &err), PF_ERR_UNSUPPORTED);
    char want[512];
    snprintf(want, sizeof want,
             "%s: unsupported dtype F8_E4M3 for tensor 'q' (expected F32, F16 or BF16)", p);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(st_read_f32(&f, st_find(&f, "m"), out, 4, &err), PF_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "unsupported dtype BOOL for tensor 'm'"), "%s", err.msg);
    int32_t ids[4];
    cr_assert_eq(st_read_i32(&f, st_find(&f, "m"), ids, 4, &err), PF_ERR_UNSUPPORTED);
    cr_assert_eq(st_read_f32(&f, st_find(&f, "q"), out, 3, &err), PF_ERR_ARG);
    cr_assert(strstr(err.msg, "has 4 elements, destination has 3"), "%s", err.msg);
    st_close(&f);
}

Test(safetensors, case4_scalars_and_zero_size) {
    const char *p = tpath("x.safetensors");
    float v = 2.5f;
    put_raw(p,
            "{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
            "\"z\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[4,4]},"
            "\"z0\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[0,0]}}",
            &v, 4);
    struct st_file f;
    struct pf_err err = {0};
    cr_assert_eq(st_open(&f, p, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(f.n, 3);
    const struct st_info *s = st_find(&f, "s"), *z = st_find(&f, "z");
    cr_assert_eq(s->ndim, 0);
    cr_assert_eq(s->numel, 1);
    cr_assert_eq(z->numel, 0);
    cr_assert_eq(z->ndim, 2);
    float out = 0;
    cr_assert_eq(st_read_f32(&f, s, &out, 1, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(out, 2.5f);
    cr_assert_eq(st_read_f32(&f, z, NULL, 0, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(st_read_f32(&f, st_find(&f, "z0"), NULL, 0, &err), PF_OK, "%s", err.msg);
    cr_assert_null(st_find(&f, "nope"));
    st_close(&f);
    st_close(&f); /* closing twice is harmless */
}

/* ---- case 5: header JSON abuse ---- */

Test(safetensors, case5_json_abuse) {
    char d[16] = {0};
    hdr_fail("{\"w\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", d, 4,
             "header is not valid UTF-8 at header byte 3");
    hdr_fail("{\"\xc0\xaf\":1}", d, 0, "not valid UTF-8 at header byte 2"); /* overlong '/' */
    hdr_fail("{\"\xed\xa0\x80\":1}", d, 0, "not valid UTF-8 at header byte 2"); /* surrogate */
    hdr_fail("{", d, 0, "header is not valid JSON");
    hdr_fail(" {}", d, 0, "header starts with whitespace, must start with '{'");
    hdr_fail("[]", d, 0, "header must start with '{', got byte 0x5b");
    hdr_fail("{} x", d, 0, "header has text after the JSON object at header byte 3");
    hdr_fail("{" T("w", "[0,16]") "," T("w", "[0,16]") "}", d, 16, "duplicate tensor name 'w'");
    hdr_fail("{\"__metadata__\":[1,2]}", d, 0, "__metadata__ is an array, must be an object");
    hdr_fail("{\"__metadata__\":{\"k\":1}}", d, 0,
             "__metadata__ values must be strings ('k' is a number)");
    hdr_fail("{\"__metadata__\":{},\"__metadata__\":{}}", d, 0,
             "duplicate tensor name '__metadata__'");
    hdr_fail("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", d, 0,
             "duplicate __metadata__ key 'k'");
    hdr_fail("{\"a\\u0000b\":1}", d, 0, "\\u0000 in a string");
    hdr_fail("{\"a\nb\":1}", d, 0, "control character 0x0a in a string");
    hdr_fail("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", d, 4,
             "empty tensor name");
    /* a hostile name is shown escaped and cut, keeping the message one line */
    hdr_fail("{\"bad\\nname'\\\\\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", d,
             8, "tensor 'bad\\x0aname\\x27\\x5c': shape [1] with dtype F32 needs 4 bytes");
}

Test(safetensors, case5_deep_nesting) {
    /* 100 000 '[' inside __metadata__: refused by the scan's depth limit, no recursion */
    size_t n = 100000;
    char *h = malloc(n + 64);
    size_t o = (size_t)sprintf(h, "{\"__metadata__\":{\"k\":");
    memset(h + o, '[', n);
    h[o + n] = '\0';
    hdr_fail(h, NULL, 0, "header JSON nested deeper than 16 levels at header byte 35");
    free(h);
}

/* n zero-size tensors, all at [0,0]. */
static char *many_zero_size(int n, size_t *len) {
    size_t cap = (size_t)n * 64 + 16, o = 1;
    char *h = malloc(cap);
    h[0] = '{';
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(h + o, cap - o,
                              "%s\"t%07d\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}",
                              i ? "," : "", i);
    h[o++] = '}';
    h[o] = '\0';
    *len = o;
    return h;
}

Test(safetensors, case5_million_zero_size_tensors_rejected_fast) {
    size_t len;
    char *h = many_zero_size(1000000, &len);
    const char *p = tpath("x.safetensors");
    put_raw_n(p, len, h, len, NULL, 0);
    free(h);
    long rss0 = maxrss_kb();
    double t0 = now_s();
    expect_open_fail(p, PF_ERR_FORMAT, "header has 1000000 entries, limit 100000");
    double dt = now_s() - t0;
    cr_assert_lt(dt, 2.0 * SAN_SLACK, "took %.3f s", dt);
    /* the header itself (~62 MB) is read; no parse tree is built */
    cr_assert_lt(maxrss_kb() - rss0, 100 * 1024, "peak RSS grew %ld KB", maxrss_kb() - rss0);
}

Test(safetensors, case5_limit_count_of_zero_size_tensors_loads) {
    size_t len;
    char *h = many_zero_size(ST_MAX_TENSORS, &len);
    const char *p = tpath("x.safetensors");
    put_raw_n(p, len, h, len, NULL, 0);
    free(h);
    struct st_file f;
    struct pf_err err = {0};
    double t0 = now_s();
    cr_assert_eq(st_open(&f, p, &err), PF_OK, "%s", err.msg);
    double dt = now_s() - t0;
    cr_assert_eq(f.n, ST_MAX_TENSORS);
    cr_assert_not_null(st_find(&f, "t0099999"));
    st_close(&f);
    /* measured 1.4 s (-O3) on a loaded 2-core VM (load average 7): 5 s is the budget */
    cr_assert_lt(dt, 5.0 * SAN_SLACK, "took %.3f s", dt);
}

/* ---- case 6: unaligned data ---- */

Test(safetensors, case6_unaligned_data) {
    /* header padded so that data starts at a file offset = 5 mod 8: F32 values would sit at
     * odd addresses if the file were mapped; pread copies into the aligned destination (UBSan stays silent) */
    char hdr[128];
    int hl = snprintf(hdr, sizeof hdr,
                      "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                      "\"b\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[12,28]}}");
    while ((8 + hl) % 8 != 5)
        hdr[hl++] = ' ';
    hdr[hl] = '\0';
    unsigned char data[28];
    float a[3] = {1.5f, -2.25f, 1e-3f};
    int64_t b[2] = {-5, 2147483647};
    memcpy(data, a, 12);
    memcpy(data + 12, b, 16);
    const char *p = tpath("x.safetensors");
    put_raw(p, hdr, data, sizeof data);
    struct st_file f;
    struct pf_err err = {0};
    cr_assert_eq(st_open(&f, p, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(f.data_start % 8, 5);
    float out[3];
    int32_t ids[2];
    cr_assert_eq(st_read_f32(&f, st_find(&f, "a"), out, 3, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(memcmp(out, a, sizeof a), 0);
    cr_assert_eq(st_read_i32(&f, st_find(&f, "b"), ids, 2, &err), PF_OK, "%s", err.msg);
    cr_assert(ids[0] == -5 && ids[1] == 2147483647);
    st_close(&f);

    b[1] = INT64_C(3000000000); /* out of int32 range */
    memcpy(data + 12, b, 16);
    put_raw(p, hdr, data, sizeof data);
    cr_assert_eq(st_open(&f, p, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(st_read_i32(&f, st_find(&f, "b"), ids, 2, &err), PF_ERR_FORMAT);
    cr_assert(strstr(err.msg, "tensor 'b': element 1 = 3000000000 does not fit in int32"), "%s",
              err.msg);
    st_close(&f);
}

/* ---- case 9: the file changes under us ---- */

Test(safetensors, case9_truncated_after_open) {
    const char *p = tpath("x.safetensors");
    static float w[4096];
    for (int i = 0; i < 4096; i++)
        w[i] = (float)i;
    int64_t s[1] = {4096};
    struct st_wtensor t = {.name = "w", .dtype = ST_F32, .ndim = 1, .shape = s, .data = w};
    struct pf_err err = {0};
    cr_assert_eq(st_write(p, &t, 1, NULL, 0, &err), PF_OK, "%s", err.msg);
    struct st_file f;
    cr_assert_eq(st_open(&f, p, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(truncate(p, (off_t)(f.data_start + 100)), 0);
    static float out[4096];
    cr_assert_eq(st_read_f32(&f, st_find(&f, "w"), out, 4096, &err), PF_ERR_IO);
    char want[512];
    snprintf(want, sizeof want,
             "%s: file changed while loading: tensor 'w' short read at offset %llu", p,
             (unsigned long long)(f.data_start + 100));
    cr_assert_str_eq(err.msg, want);
    st_close(&f);
}

Test(safetensors, case9_rewritten_after_open) {
    const char *p = tpath("x.safetensors");
    write_small(p);
    struct st_file f;
    struct pf_err err = {0};
    cr_assert_eq(st_open(&f, p, &err), PF_OK, "%s", err.msg);
    /* same size, new contents: noticed through the mtime (set explicitly, since two writes
     * within one clock tick can share a timestamp) */
    int fd = open(p, O_WRONLY);
    cr_assert_eq(pwrite(fd, "\x7f\x7f\x7f\x7f", 4, (off_t)f.data_start + 16), 4);
    struct timespec ts[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT}, {.tv_sec = 1000000000}};
    cr_assert_eq(futimens(fd, ts), 0);
    close(fd);
    float out[6];
    cr_assert_eq(st_read_f32(&f, st_find(&f, "w"), out, 6, &err), PF_ERR_IO);
    cr_assert(strstr(err.msg, "file changed while loading: modified since it was opened"), "%s",
              err.msg);
    /* growing the file is noticed through its size */
    st_close(&f);
    cr_assert_eq(st_open(&f, p, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(truncate(p, (off_t)f.size + 8), 0);
    cr_assert_eq(st_read_f32(&f, st_find(&f, "w"), out, 6, &err), PF_ERR_IO);
    cr_assert(strstr(err.msg, "file changed while loading: size was"), "%s", err.msg);
    st_close(&f);
}

/* ---- writer ---- */

Test(safetensors, writer_round_trip) {
    const char *p = tpath("rt.safetensors");
    float w[6] = {0.1f, -2, 3.5f, 1e-8f, 65504, -0.0f};
    float h[4] = {1, 0.5f, -1.0f / 3, 70000}; /* F16: 70000 overflows to inf */
    float bf[4] = {1, 3.14159f, -1e30f, 1e-40f};
    int32_t ids[5] = {0, -1, 2147483647, -2147483647 - 1, 42};
    float sc = 7;
    int64_t s_w[2] = {2, 3}, s_h[1] = {4}, s_bf[2] = {2, 2}, s_ids[1] = {5}, s_z[2] = {2, 0};
    struct st_wtensor t[] = {
        {.name = "model.w", .dtype = ST_F32, .ndim = 2, .shape = s_w, .data = w},
        {.name = "half", .dtype = ST_F16, .ndim = 1, .shape = s_h, .data = h, .from_f32 = 1},
        {.name = "brain", .dtype = ST_BF16, .ndim = 2, .shape = s_bf, .data = bf, .from_f32 = 1},
        {.name = "ids", .dtype = ST_I32, .ndim = 1, .shape = s_ids, .data = ids},
        {.name = "scalar", .dtype = ST_F32, .ndim = 0, .data = &sc},
        {.name = "empty", .dtype = ST_F32, .ndim = 2, .shape = s_z},
        {.name = "\xc3\xa9t\xc3\xa9 \"q\"", .dtype = ST_F32, .ndim = 0, .data = &sc},
    };
    const char *meta[] = {"note", "line1\nline2 \"quoted\"", "format", "pt"};
    struct pf_err err = {0};
    cr_assert_eq(st_write(p, t, 7, meta, 2, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(count_tmp_files(), 0);

    struct st_file f;
    cr_assert_eq(st_open(&f, p, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(f.n, 7);
    cr_assert_eq(f.data_start % 8, 0, "header padded to a multiple of 8");
    cr_assert_str_eq(st_meta(&f, "format"), "pt");
    cr_assert_str_eq(st_meta(&f, "note"), "line1\nline2 \"quoted\"");
    float o[6];
    cr_assert_eq(st_read_f32(&f, st_find(&f, "model.w"), o, 6, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(memcmp(o, w, sizeof w), 0, "F32 is bitwise identical");
    cr_assert_eq(st_read_f32(&f, st_find(&f, "half"), o, 4, &err), PF_OK, "%s", err.msg);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(o[i], half_f16_to_f32(half_f32_to_f16(h[i])));
    cr_assert(isinf(o[3]));
    cr_assert_eq(st_read_f32(&f, st_find(&f, "brain"), o, 4, &err), PF_OK, "%s", err.msg);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(o[i], half_bf16_to_f32(half_f32_to_bf16(bf[i])));
    int32_t oi[5];
    cr_assert_eq(st_read_i32(&f, st_find(&f, "ids"), oi, 5, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(memcmp(oi, ids, sizeof ids), 0);
    cr_assert_eq(st_read_f32(&f, st_find(&f, "scalar"), o, 1, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(o[0], 7);
    cr_assert_not_null(st_find(&f, "\xc3\xa9t\xc3\xa9 \"q\""));
    cr_assert_eq(st_find(&f, "empty")->numel, 0);
    unsigned char raw[8];
    cr_assert_eq(st_read_raw(&f, st_find(&f, "half"), raw, 8, &err), PF_OK, "%s", err.msg);
    uint16_t h0;
    memcpy(&h0, raw, 2);
    cr_assert_eq(h0, 0x3c00); /* 1.0 in F16 */

    /* the header itself: names sorted, data contiguous in that order, spaces as padding */
    size_t n;
    unsigned char *b = get_bytes(p, &n);
    size_t hl = (size_t)f.header_len;
    cr_assert_eq(b[8], '{');
    cr_assert(b[8 + hl - 1] == ' ' || b[8 + hl - 1] == '}');
    cJSON *root = cJSON_ParseWithLength((const char *)b + 8, hl);
    cr_assert_not_null(root);
    const char *prev = "";
    double pos = 0;
    int k = 0;
    for (cJSON *e = root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__"))
            continue;
        cr_assert_gt(strcmp(e->string, prev), 0, "'%s' after '%s'", e->string, prev);
        prev = e->string;
        cJSON *off = cJSON_GetObjectItem(e, "data_offsets");
        cr_assert_eq(cJSON_GetArrayItem(off, 0)->valuedouble, pos, "contiguous at '%s'", prev);
        pos = cJSON_GetArrayItem(off, 1)->valuedouble;
        k++;
    }
    cr_assert_eq(k, 7);
    cr_assert_eq((uint64_t)pos, f.size - f.data_start);
    cJSON_Delete(root);
    free(b);
    st_close(&f);
}

Test(safetensors, writer_rejects_bad_input) {
    const char *p = tpath("bad.safetensors");
    float v[2] = {1, 2};
    int64_t s[1] = {2}, neg[1] = {-2}, big[2] = {INT64_MAX, 2};
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 2};
    struct {
        struct st_wtensor t[2];
        int n;
        const char *want;
    } cases[] = {
        {{{.name = "a", .dtype = ST_F32, .ndim = 1, .shape = s, .data = v},
          {.name = "a", .dtype = ST_F32, .ndim = 1, .shape = s, .data = v}},
         2, "duplicate tensor name 'a'"},
        {{{.name = "__metadata__", .dtype = ST_F32, .ndim = 1, .shape = s, .data = v}},
         1, "'__metadata__' is reserved"},
        {{{.name = "", .dtype = ST_F32, .ndim = 1, .shape = s, .data = v}}, 1, "empty tensor name"},
        {{{.name = "x\xff", .dtype = ST_F32, .ndim = 1, .shape = s, .data = v}}, 1,
         "not valid UTF-8"},
        {{{.name = "n", .dtype = ST_F32, .ndim = 1, .shape = neg, .data = v}}, 1,
         "dimension 0 is -2"},
        {{{.name = "o", .dtype = ST_F32, .ndim = 2, .shape = big, .data = v}}, 1,
         "product overflows"},
        {{{.name = "d", .dtype = ST_F32, .ndim = 9, .shape = nine, .data = v}}, 1,
         "9 dimensions"},
        {{{.name = "i", .dtype = ST_I32, .ndim = 1, .shape = s, .data = v, .from_f32 = 1}}, 1,
         "not I32"},
        {{{.name = "null", .dtype = ST_F32, .ndim = 1, .shape = s}}, 1, "data is NULL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pf_err err = {0};
        cr_assert_eq(st_write(p, cases[i].t, cases[i].n, NULL, 0, &err), PF_ERR_ARG, "case %zu",
                     i);
        cr_assert(strstr(err.msg, cases[i].want), "case %zu: %s", i, err.msg);
        cr_assert_eq(access(p, F_OK), -1, "nothing written");
    }
    struct pf_err err = {0};
    const char *meta[] = {"k", "1", "k", "2"};
    cr_assert_eq(st_write(p, NULL, 0, meta, 2, &err), PF_ERR_ARG);
    cr_assert(strstr(err.msg, "duplicate metadata key 'k'"), "%s", err.msg);
    cr_assert_eq(count_tmp_files(), 0);
}

/* A failed write leaves the previous file intact and no temporary file behind. */
Test(safetensors, writer_is_atomic) {
    const char *p = tpath("m.safetensors");
    write_small(p);
    size_t n0;
    unsigned char *before = get_bytes(p, &n0);
    static float big[1 << 16];
    int64_t s[1] = {1 << 16};
    struct st_wtensor t = {.name = "big", .dtype = ST_F32, .ndim = 1, .shape = s, .data = big};
    struct pf_err err = {0};

    /* 1. the disk fills mid-write: a file size limit makes write() fail with EFBIG */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    pf_status st = st_write(p, &t, 1, NULL, 0, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    cr_assert_eq(st, PF_ERR_IO);
    cr_assert(strstr(err.msg, "write failed: File too large"), "%s", err.msg);
    size_t n1;
    unsigned char *after = get_bytes(p, &n1);
    cr_assert(n1 == n0 && memcmp(before, after, n0) == 0, "previous file untouched");
    free(after);
    cr_assert_eq(count_tmp_files(), 0);

    /* 2. the target is a directory: rename fails after a complete temporary file */
    const char *dirp = tpath("adir");
    cr_assert_eq(mkdir(dirp, 0755), 0);
    cr_assert_eq(st_write(dirp, &t, 1, NULL, 0, &err), PF_ERR_IO);
    cr_assert(strstr(err.msg, "rename failed"), "%s", err.msg);
    cr_assert_eq(count_tmp_files(), 0);

    /* 3. the folder does not exist */
    cr_assert_eq(st_write(tpath("no/such/dir.safetensors"), &t, 1, NULL, 0, &err), PF_ERR_IO);
    cr_assert(strstr(err.msg, "cannot create a temporary file next to it"), "%s", err.msg);

    /* 4. a read-only folder (root ignores permissions: skipped there, covered by 1-3) */
    if (geteuid() != 0) {
        cr_assert_eq(chmod(tdir, 0555), 0);
        cr_assert_eq(st_write(p, &t, 1, NULL, 0, &err), PF_ERR_IO);
        chmod(tdir, 0755);
        after = get_bytes(p, &n1);
        cr_assert(n1 == n0 && memcmp(before, after, n0) == 0, "previous file untouched");
        free(after);
        cr_assert_eq(count_tmp_files(), 0);
    }

    /* and a successful write replaces the file */
    cr_assert_eq(st_write(p, &t, 1, NULL, 0, &err), PF_OK, "%s", err.msg);
    struct st_file f;
    cr_assert_eq(st_open(&f, p, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(f.n, 1);
    st_close(&f);
    free(before);
}

/* ---- checkpoint folders (case 29's loader side; sharding rules) ---- */

static void write_one(const char *path, const char *const *names, int n) {
    static float v[4] = {1, 2, 3, 4};
    int64_t s[1] = {4};
    struct st_wtensor t[8];
    for (int i = 0; i < n; i++)
        t[i] = (struct st_wtensor){.name = names[i], .dtype = ST_F32, .ndim = 1, .shape = s,
                                   .data = v};
    struct pf_err err = {0};
    cr_assert_eq(st_write(path, t, n, NULL, 0, &err), PF_OK, "%s", err.msg);
}

#define S1 "model-00001-of-00002.safetensors"
#define S2 "model-00002-of-00002.safetensors"

static void put_text(const char *path, const char *s) {
    put_bytes(path, s, strlen(s));
}

static void expect_ckpt_fail(pf_status code, const char *want) {
    struct st_checkpoint c;
    struct pf_err err = {0};
    cr_assert_eq(st_checkpoint_open(&c, tdir, &err), code, "%s", err.msg);
    cr_assert(strstr(err.msg, want), "message '%s' lacks '%s'", err.msg, want);
    cr_assert_null(c.files);
}

Test(safetensors, checkpoint_sharded) {
    const char *a[] = {"a", "b"}, *b[] = {"c"};
    write_one(tpath(S1), a, 2);
    write_one(tpath(S2), b, 1);
    put_text(tpath("model.safetensors.index.json"),
             "{\"metadata\":{\"total_size\":48},\"weight_map\":{\"c\":\"" S2 "\",\"a\":\"" S1
             "\",\"b\":\"" S1 "\"}}");
    struct st_checkpoint c;
    struct pf_err err = {0};
    cr_assert_eq(st_checkpoint_open(&c, tdir, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(c.nfiles, 2);
    cr_assert_eq(c.n, 3);
    cr_assert_str_eq(c.entries[0].name, "a");
    cr_assert_str_eq(c.entries[2].name, "c");
    const struct st_file *f = NULL;
    const struct st_info *t = st_checkpoint_find(&c, "c", &f);
    cr_assert_not_null(t);
    cr_assert(strstr(f->path, S2));
    float v[4];
    cr_assert_eq(st_read_f32(f, t, v, 4, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(v[3], 4);
    cr_assert_null(st_checkpoint_find(&c, "zz", &f));
    cr_assert_null(f);
    st_checkpoint_close(&c);
}

Test(safetensors, checkpoint_single_and_ambiguous) {
    const char *a[] = {"x"};
    write_one(tpath("model.safetensors"), a, 1);
    struct st_checkpoint c;
    struct pf_err err = {0};
    cr_assert_eq(st_checkpoint_open(&c, tdir, &err), PF_OK, "%s", err.msg);
    cr_assert_eq(c.n, 1);
    cr_assert_not_null(st_checkpoint_find(&c, "x", NULL));
    st_checkpoint_close(&c);
    put_text(tpath("model.safetensors.index.json"), "{\"weight_map\":{}}");
    expect_ckpt_fail(PF_ERR_FORMAT, "both model.safetensors and model.safetensors.index.json");
    unlink(tpath("model.safetensors.index.json"));
    unlink(tpath("model.safetensors"));
    expect_ckpt_fail(PF_ERR_IO, "neither model.safetensors nor");
}

Test(safetensors, checkpoint_inconsistent) {
    const char *a[] = {"a", "b"}, *b[] = {"c"}, *b_dup[] = {"a", "c"}, *b_extra[] = {"c", "d"};
    char idx[256];
    snprintf(idx, sizeof idx, "%s", tpath("model.safetensors.index.json"));
    const char *good = "{\"weight_map\":{\"a\":\"" S1 "\",\"b\":\"" S1 "\",\"c\":\"" S2 "\"}}";
    write_one(tpath(S1), a, 2);

    put_text(idx, good); /* shard 2 missing */
    expect_ckpt_fail(PF_ERR_IO, S2 ": cannot open");

    write_one(tpath(S2), b_dup, 2); /* 'a' in both shards */
    expect_ckpt_fail(PF_ERR_FORMAT, "tensor 'a' is also here, but the weight_map puts it in " S1);

    write_one(tpath(S2), b_extra, 2); /* 'd' not in the weight_map */
    expect_ckpt_fail(PF_ERR_FORMAT, "tensor 'd' is not in the weight_map");

    write_one(tpath(S2), b, 1);
    put_text(idx, "{\"weight_map\":{\"a\":\"" S1 "\",\"b\":\"" S1 "\",\"c\":\"" S2 "\",\"e\":\"" S1
                  "\"}}");
    expect_ckpt_fail(PF_ERR_FORMAT, "weight_map puts 'e' in " S1 ", which has no such tensor");

    put_text(idx, "{\"weight_map\":{\"a\":\"../" S1 "\"}}");
    expect_ckpt_fail(PF_ERR_FORMAT, "weight_map shard '../" S1 "' for 'a' must be a plain");
    put_text(idx, "{\"weight_map\":{\"a\":\"..\"}}");
    expect_ckpt_fail(PF_ERR_FORMAT, "must be a plain");
    put_text(idx, "{\"weight_map\":{\"a\":\"/etc/passwd\"}}");
    expect_ckpt_fail(PF_ERR_FORMAT, "must be a plain");
    put_text(idx, "{\"weight_map\":{\"a\":\"" S1 "\",\"a\":\"" S1 "\"}}");
    expect_ckpt_fail(PF_ERR_FORMAT, "weight_map names 'a' twice");

    put_text(idx, "{\"weight_map\":");
    expect_ckpt_fail(PF_ERR_FORMAT, "not valid JSON");
    put_text(idx, "[]");
    expect_ckpt_fail(PF_ERR_FORMAT, "must be a JSON object");
    put_text(idx, "{\"metadata\":{}}");
    expect_ckpt_fail(PF_ERR_FORMAT, "'weight_map' is missing");
    put_text(idx, "{\"weight_map\":[]}");
    expect_ckpt_fail(PF_ERR_FORMAT, "'weight_map' is not an object");
    put_text(idx, "{\"weight_map\":{\"a\":1}}");
    expect_ckpt_fail(PF_ERR_FORMAT, "weight_map value for 'a' must be a string");
    put_text(idx, "{\"weight_map\":{\"a\":\"\xff\"}}");
    expect_ckpt_fail(PF_ERR_FORMAT, "index is not valid UTF-8");

    put_text(idx, good);
    struct st_checkpoint c;
    struct pf_err err = {0};
    cr_assert_eq(st_checkpoint_open(&c, tdir, &err), PF_OK, "%s", err.msg);
    st_checkpoint_close(&c);
}
