/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */

#include "idts_backend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* In the order "auto" tries them: a Xen domain with a host identity uses
 * xen even towards ends in the same domain, so that all its tunnels work alike. */
static const struct idts_backend_ops *const backends[] = {
#ifdef IDTS_HAVE_XEN
    &idts_backend_xen,
#endif
    &idts_backend_shm,
};

static int open_ops(struct idts_backend *be, const struct idts_backend_ops *ops)
{
    int rc;

    be->ops = ops;
    rc = ops->open(be);
    if (rc)
        be->ops = NULL;
    return rc;
}

int idts_backend_open(struct idts_backend *be, const char *name)
{
    size_t i;
    int rc = -ENOENT;

    memset(be, 0, sizeof(*be));
    for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        if (strcmp(name, "auto") != 0 && strcmp(name, backends[i]->name) != 0)
            continue;
        rc = open_ops(be, backends[i]);
        if (rc == 0 || strcmp(name, "auto") != 0)
            return rc;
    }
    if (rc == -ENOENT)
        snprintf(be->why, sizeof(be->why), "no backend \"%s\" in this build", name);
    return rc;
}

void idts_backend_close(struct idts_backend *be)
{
    if (be->ops)
        be->ops->close(be);
    be->ops = NULL;
}

int idts_key_valid(const char *key)
{
    size_t n = strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

    return n > 0 && n < IDTS_KEY_MAX && key[n] == '\0';
}
