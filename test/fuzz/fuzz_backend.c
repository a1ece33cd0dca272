/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */

#include "fuzz_backend.h"
#include "fuzz_program.h"
#include "idts_tunnel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int say(struct fuzz_platform *platform, int rc)
{
    platform->said_gone |= rc == -EPIPE;
    return rc;
}

static int fuzz_open(struct idts_backend *be)
{
    (void)be;
    return 0;
}

static void fuzz_close(struct idts_backend *be)
{
    be->priv = NULL;
}

/* A fresh region, zeroed as shared pages come from the system. */
static int region_new(struct fuzz_platform *platform, struct idts_link *link, size_t data_size)
{
    platform->link = link;
    link->priv = platform;
    link->ctrl = calloc(1, IDTS_CTRL_SIZE);
    link->data = calloc(1, data_size ? data_size : 1);
    link->data_size = data_size;
    return link->ctrl && link->data ? 0 : -ENOMEM;
}

static int fuzz_share(struct idts_backend *be, const char *peer, size_t data_size,
                      struct idts_link *link)
{
    struct fuzz_platform *platform = be->priv;

    if (strcmp(peer, be->instance) != 0)
        return -EHOSTUNREACH;
    return region_new(platform, link, data_size);
}

static int fuzz_publish(struct idts_backend *be, struct idts_link *link, const char *key,
                        const char *inbox)
{
    (void)be, (void)link, (void)key, (void)inbox;
    return 0;
}

static int fuzz_accept(struct idts_backend *be, struct idts_link *link)
{
    struct fuzz_platform *platform = be->priv;

    (void)link;
    return say(platform, platform->accept_rc);
}

static int fuzz_map(struct idts_backend *be, const char *peer, const char *key,
                    struct idts_link *link)
{
    struct fuzz_platform *platform = be->priv;
    int rc = say(platform, platform->map_rc);

    if (strcmp(peer, be->instance) != 0)
        return -EHOSTUNREACH;
    /* One region per input: the new region a MOVE names is never there. */
    if (!platform->mapped_key[0])
        snprintf(platform->mapped_key, sizeof(platform->mapped_key), "%s", key);
    if (strcmp(key, platform->mapped_key) != 0)
        return -EAGAIN;
    if (rc == 0)
        rc = region_new(platform, link, platform->offer_data_size);
    if (rc == 0) {
        memcpy(link->ctrl, platform->offer_ctrl, IDTS_CTRL_SIZE);
        memset(link->data, platform->offer_fill, link->data_size);
    }
    return rc;
}

/* The notification channel is the harness's to look at: it counts. */
static int fuzz_notify(struct idts_link *link)
{
    struct fuzz_platform *platform = link->priv;

    platform->notified++;
    return 0;
}

static int fuzz_wait(struct idts_backend *be, struct idts_link *const *links, int n, int timeout_ms)
{
    (void)links, (void)n, (void)timeout_ms;
    return say(be->priv, ((struct fuzz_platform *)be->priv)->wait_rc);
}

static int fuzz_look(struct idts_link *link)
{
    struct fuzz_platform *platform = link->priv;

    return say(platform, platform->check_rc);
}

/* No descriptor: the platform's waits are answers from the input. */
static int fuzz_fds(struct idts_backend *be, struct idts_link *link, int *fds, int max)
{
    (void)be, (void)link, (void)fds, (void)max;
    return 0;
}

/* Whether the peer's inbox is there: the same answer as whether its link is. */
static int fuzz_listening(struct idts_backend *be, const char *peer, const char *key)
{
    (void)peer, (void)key;
    return say(be->priv, ((struct fuzz_platform *)be->priv)->check_rc);
}

static void fuzz_unlink(struct idts_backend *be, struct idts_link *link)
{
    struct fuzz_platform *platform = be->priv;

    free(link->ctrl);
    free(link->data);
    link->ctrl = link->data = link->priv = NULL;
    if (platform->link == link)
        platform->link = NULL;
}

static int fuzz_listen(struct idts_backend *be, const char *key)
{
    (void)be, (void)key;
    return 0;
}

static int fuzz_knock(struct idts_backend *be, const char *peer, const char *key, const void *msg,
                      size_t len)
{
    struct fuzz_platform *platform = be->priv;

    (void)peer, (void)key, (void)msg, (void)len;
    return platform->knock_rc;
}

static int fuzz_knocked(struct idts_backend *be, void *msg, size_t len)
{
    struct fuzz_platform *platform = be->priv;
    unsigned i = platform->knocks_taken;
    size_t n;

    if (i >= platform->knocks)
        return -EAGAIN;
    platform->knocks_taken++;
    n = platform->knock_length[i];
    memcpy(msg, platform->knock[i], n < len ? n : len);
    return n > len ? -EMSGSIZE : (int)n;
}

static void fuzz_unknock(struct idts_backend *be, const char *peer, const char *key)
{
    (void)be, (void)peer, (void)key;
}

static const struct idts_backend_ops fuzz_backend_ops = {
    .name = "fuzz",
    .open = fuzz_open,
    .close = fuzz_close,
    .share = fuzz_share,
    .publish = fuzz_publish,
    .accept = fuzz_accept,
    .map = fuzz_map,
    .notify = fuzz_notify,
    .wait = fuzz_wait,
    .check = fuzz_look,
    .unlink = fuzz_unlink,
    .listen = fuzz_listen,
    .knock = fuzz_knock,
    .unknock = fuzz_unknock,
    .knocked = fuzz_knocked,
    .fds = fuzz_fds,
    .listening = fuzz_listening,
};

void fuzz_backend_open(struct idts_backend *be, struct fuzz_platform *platform)
{
    memset(be, 0, sizeof(*be));
    be->ops = &fuzz_backend_ops;
    be->priv = platform;
    strcpy(be->host, "fuzz");
    strcpy(be->instance, "fuzz");
    be->share_size = 2 * IDTS_RING_MIN_SIZE;
}

/* The page the real creator code writes, from a tunnel created here. */
void fuzz_platform_offer(struct fuzz_platform *platform, struct idts_backend *be,
                         uint32_t ring_size)
{
    struct idts_tunnel creator;
    int rc = idts_tunnel_create(&creator, be, be->instance, "inbox", "offer", ring_size);

    fuzz_check(rc == 0, "cannot create a tunnel with rings of %u bytes: %d", ring_size, rc);
    memcpy(platform->offer_ctrl, creator.link.ctrl, IDTS_CTRL_SIZE);
    platform->offer_data_size = creator.link.data_size;
    idts_tunnel_close(&creator);
    /* The honest creator was the harness's, not the tunnel under test. */
    platform->notified = 0;
}
