/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Fuzz target "xen_parse": the xen backend's readers of what other domains
 * write into XenStore (common/idts_xen_parse.c), against the formats as the
 * writers write them: a value is taken only if it is exactly what a writer
 * could have written, and then read as written. The strings are heap blocks
 * of exactly their length, so ASan sees a read past the terminator.
 */
#include "fuzz_ops.h"
#include "fuzz_program.h"
#include "idts_xen_parse.h"

#include <errno.h>

#define KNOCK_MAX 255

/* The rest of the input, up to a NUL, as a string of its own. */
static char *rest(struct fuzz_input *in)
{
    size_t n = strnlen((const char *)in->at, in->left);
    char *s = malloc(n + 1);

    fuzz_check(s, "out of memory");
    fuzz_bytes(in, s, n);
    s[n] = '\0';
    in->left = 0;
    return s;
}

/* A decimal number as a writer prints it, or leading zeros: digits only,
 * at most max. The value's digits end at *end. */
static int decimal(const char *s, const char **end, uint64_t max, uint64_t *value)
{
    const char *p = s;

    *value = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        if ((*value = *value * 10 + (uint64_t)(*p - '0')) > max)
            *value = max + 1; /* stays over: no wrap */
    *end = p;
    return p > s && *value <= max;
}

static void check_uint(struct fuzz_input *in)
{
    unsigned max = fuzz_u32(in), out = 0;
    char *s = rest(in);
    const char *end;
    uint64_t value;
    int good = decimal(s, &end, max, &value) && *end == '\0';
    int rc = idts_xen_parse_uint(s, max, &out);

    fuzz_check(rc == (good ? 0 : -EINVAL), "\"%s\" (max %u): %d", s, max, rc);
    fuzz_check(rc != 0 || out == value, "\"%s\" read as %u", s, out);
    free(s);
}

/* "pid ctrl-ref port pages": pid positive, pages 1 to max. */
static void check_offer(struct fuzz_input *in)
{
    uint32_t max_pages = fuzz_u16(in), ref = 0, pages = 0;
    unsigned port = 0;
    char *s = rest(in);
    const uint64_t limits[4] = {INT32_MAX, UINT32_MAX, UINT32_MAX, max_pages};
    uint64_t field[4];
    const char *at = s, *end;
    int i, good = 1, rc;

    for (i = 0; i < 4 && good; i++) {
        good = decimal(at, &end, limits[i], &field[i]) && *end == (i < 3 ? ' ' : '\0');
        at = end + 1;
    }
    good = good && field[3] > 0;
    rc = idts_xen_parse_offer(s, max_pages, &ref, &port, &pages);
    fuzz_check(rc == (good ? 0 : -EPROTO), "offer \"%s\" (max %u pages): %d", s, max_pages, rc);
    fuzz_check(rc != 0 || (ref == field[1] && port == field[2] && pages == field[3]),
               "offer \"%s\" read as %u %u %u", s, ref, port, pages);
    free(s);
}

/* "pid hex-bytes": lowercase hex pairs after the first space. */
static void check_knock(struct fuzz_input *in)
{
    size_t len = fuzz_u8(in), n, i;
    uint8_t *msg = malloc(len ? len : 1);
    char *s = rest(in), *hex = strchr(s, ' '), again[2 * KNOCK_MAX + 1];
    int good = hex != NULL, rc;

    fuzz_check(msg, "out of memory");
    n = hex ? strlen(hex + 1) : 0;
    for (i = 0; good && i < n; i++)
        good = (hex[1 + i] >= '0' && hex[1 + i] <= '9') || (hex[1 + i] >= 'a' && hex[1 + i] <= 'f');
    good = good && n % 2 == 0;
    rc = idts_xen_parse_knock(s, msg, len);
    fuzz_check(rc == (!good         ? -EPROTO
                      : n / 2 > len ? -EMSGSIZE
                                    : (int)(n / 2)),
               "knock \"%s\" (buffer %zu): %d", s, len, rc);
    if (rc > 0) {
        idts_xen_to_hex(msg, (size_t)rc, again);
        fuzz_check(strcmp(again, hex + 1) == 0, "knock \"%s\" read as %s", s, again);
    }
    free(msg);
    free(s);
}

static int starts(const char *s, const char *prefix, const char **after)
{
    size_t n = strlen(prefix);

    *after = s + n;
    return strncmp(s, prefix, n) == 0;
}

static int bucket(const char *s, const char **after)
{
    *after = s + 2;
    return strspn(s, "0123456789abcdef") == 2 && s[2] == '/';
}

/* /local/domain/<domid>/data/idts/<bucket>/<inbox>@knock-...; and the path
 * a knocker writes is one its reader takes. */
static void check_knock_path(struct fuzz_input *in)
{
    char inbox[UINT8_MAX + 1], name[UINT8_MAX + 32], written[2 * UINT8_MAX], *path;
    const char *at;
    size_t domid_digits;
    int good;

    inbox[fuzz_bytes(in, inbox, fuzz_u8(in))] = '\0';
    path = rest(in);
    good = starts(path, "/local/domain/", &at) && (domid_digits = strspn(at, "0123456789")) > 0 &&
           starts(at + domid_digits, "/data/idts/", &at) && bucket(at, &at) &&
           starts(at + 1, inbox, &at) && starts(at, "@knock-", &at);
    fuzz_check(!idts_xen_knock_for(path, inbox) == !good, "path \"%s\", inbox \"%s\": %d", path,
               inbox, !good);
    free(path);
    snprintf(name, sizeof(name), "%s@knock-4242-0", inbox);
    idts_xen_node_path(written, sizeof(written), 7, name);
    fuzz_check(idts_xen_knock_for(written, inbox), "the knock %s is not one for inbox \"%s\"",
               written, inbox);
}

/* What a knocker writes, its reader reads back. */
static void check_knock_bytes(struct fuzz_input *in)
{
    uint8_t bytes[KNOCK_MAX], back[KNOCK_MAX];
    size_t n = fuzz_bytes(in, bytes, fuzz_u8(in));
    char value[2 * KNOCK_MAX + 16] = "4242 ";

    idts_xen_to_hex(bytes, n, value + strlen(value));
    fuzz_check(idts_xen_parse_knock(value, back, sizeof(back)) == (int)n &&
                   memcmp(back, bytes, n) == 0,
               "a knock of %zu bytes did not come back", n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};

    switch (fuzz_u8(&in) % XEN_PARSERS) {
    case XEN_UINT:
        check_uint(&in);
        break;
    case XEN_OFFER:
        check_offer(&in);
        break;
    case XEN_KNOCK:
        check_knock(&in);
        break;
    case XEN_KNOCK_PATH:
        check_knock_path(&in);
        break;
    default:
        check_knock_bytes(&in);
    }
    return 0;
}
