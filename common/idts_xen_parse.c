#include "idts_xen_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int idts_xen_parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

int idts_xen_parse_offer(const char *value, uint32_t max_pages, uint32_t *ctrl_ref, unsigned *port,
                         uint32_t *pages)
{
    unsigned pid, ref, p, n;
    char extra;

    if (sscanf(value, "%u %u %u %u%c", &pid, &ref, &p, &n, &extra) != 4)
        return -EPROTO;
    if (n == 0 || n > max_pages)
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

int idts_xen_knock_for(const char *path, const char *inbox)
{
    const char *name;
    unsigned domid;
    int n = 0;

    if (sscanf(path, "/local/domain/%u/data/idts/%n", &domid, &n) != 1 || n == 0)
        return 0;
    name = path + n;
    return strncmp(name, inbox, strlen(inbox)) == 0 &&
           strncmp(name + strlen(inbox), "@knock-", strlen("@knock-")) == 0;
}
