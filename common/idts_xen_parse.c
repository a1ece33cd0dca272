/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */

#include "idts_xen_parse.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The decimal number at s, at most max, up to the character `end`; *next
 * then points past that character. Nothing else: no sign, no space. */
static int parse_field(const char *s, char end, unsigned max, unsigned *out, const char **next)
{
    char *stop;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &stop, 10);
    if (errno || *stop != end || v > max)
        return -EINVAL;
    *out = (unsigned)v;
    *next = stop + 1;
    return 0;
}

int idts_xen_parse_uint(const char *s, unsigned max, unsigned *out)
{
    return parse_field(s, '\0', max, out, &s);
}

int idts_xen_parse_offer(const char *value, uint32_t max_pages, uint32_t *ctrl_ref, unsigned *port,
                         uint32_t *pages)
{
    unsigned pid, ref, p, n;

    if (parse_field(value, ' ', INT32_MAX, &pid, &value) ||
        parse_field(value, ' ', UINT32_MAX, &ref, &value) ||
        parse_field(value, ' ', UINT32_MAX, &p, &value) ||
        parse_field(value, '\0', max_pages, &n, &value) || n == 0)
        return -EPROTO;
    *ctrl_ref = ref;
    *port = p;
    *pages = n;
    return 0;
}

void idts_xen_to_hex(const uint8_t *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Bytes decoded into out (at most len), -EMSGSIZE if more, -EPROTO if not hex. */
static int from_hex(const char *hex, uint8_t *out, size_t len)
{
    size_t n = strlen(hex), i;

    if (n % 2)
        return -EPROTO;
    for (i = 0; i < n / 2; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -EPROTO;
        if (i < len)
            out[i] = (uint8_t)(hi << 4 | lo);
    }
    return n / 2 > len ? -EMSGSIZE : (int)(n / 2);
}

int idts_xen_parse_knock(const char *value, uint8_t *msg, size_t len)
{
    const char *hex = strchr(value, ' ');

    return hex ? from_hex(hex + 1, msg, len) : -EPROTO;
}

/* Move *s past prefix if it starts with it. */
static int skip(const char **s, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strncmp(*s, prefix, n) != 0)
        return 0;
    *s += n;
    return 1;
}

/* FNV-1a: names that differ in a digit land in different buckets. */
static unsigned bucket_of(const char *name)
{
    uint32_t hash = 2166136261u;

    for (; *name; name++)
        hash = (hash ^ (uint8_t)*name) * 16777619u;
    return hash % IDTS_XEN_BUCKETS;
}

void idts_xen_node_path(char *path, size_t len, unsigned domid, const char *name)
{
    snprintf(path, len, "/local/domain/%u/data/idts/%02x/%s", domid, bucket_of(name), name);
}

int idts_xen_knock_for(const char *path, const char *inbox)
{
    size_t digits;

    if (!skip(&path, "/local/domain/"))
        return 0;
    digits = strspn(path, "0123456789");
    path += digits;
    if (digits == 0 || !skip(&path, "/data/idts/") || strspn(path, "0123456789abcdef") != 2)
        return 0;
    path += 2;
    return skip(&path, "/") && skip(&path, inbox) && skip(&path, "@knock-");
}
