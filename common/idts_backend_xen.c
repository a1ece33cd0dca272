/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * The xen backend: ends are processes in Xen domains of one physical host.
 *
 * Pages: the creator allocates the control page with gntalloc's unmap notify
 * (its live byte is cleared and the peer signalled if it dies) and the data
 * pages in one more call, and writes the data pages' grant references into
 * the control page's backend area (struct xen_refs below). The attacher maps
 * the control page with gntdev's unmap notify on its own live byte, copies
 * the references once, checks them and maps the data pages.
 *
 * Notification: one event channel per tunnel. The creator binds an unbound
 * port for the peer domain, the attacher binds to it interdomain.
 *
 * XenStore: every end writes only under its own /local/domain/<domid>/data/idts
 * (the one place a guest may write), in one of IDTS_XEN_BUCKETS directories
 * by a hash of the node's name (idts_xen_parse.h says why), each node
 * readable by the peer domain only, and every value starts with the writer's
 * pid so that a later process of the same domain can remove what a killed
 * one left:
 *   <key>@offer           creator: "pid ctrl-ref port pages", then "pid" once
 *                         accepted, until the tunnel is closed
 *   <key>@attach          attacher: "pid", until the tunnel is closed
 *   <inbox>@inbox         listener: "pid", readable by every domain
 *   <inbox>@knock-<p>-<n> knocker p's nth knock: "pid hex-bytes", until the
 *                         tunnel it asked for opens
 * ('@' is valid in node names and never in a key, so names cannot collide.)
 * A listener watches /local/domain and takes the knock nodes addressed to its
 * inbox; XenStore delivers a watch event only to domains allowed to read the
 * node. A destroyed domain's unmap notify never runs, but the toolstack
 * removes its XenStore tree: check() looks for the peer's node.
 *
 * Host identity: dom0's idts-hostd writes /local/domain/<domid>/idts/host
 * (read-only for the guest); without it the backend does not open.
 */
#define _GNU_SOURCE
#include "idts_abi.h"
#include "idts_backend.h"
#include "idts_xen_grants.h"
#include "idts_xen_parse.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xentoollog.h>

#define XEN_MAX_DOMID 0x7fefu /* DOMID_FIRST_RESERVED - 1 */
#define XEN_HOST_NODE "idts/host"
#define XEN_KNOCK_MAX 1024u /* bytes of one knock message */
#define XEN_PATH_MAX  160
/* A knock's node, after its inbox's key and '@': our pid, then the knock's
 * number. */
#define XEN_KNOCK_NAME "knock-%d-"

/* The control page's backend area on xen: the data pages' grant refs. */
struct xen_refs {
    uint32_t ref[(IDTS_CTRL_SIZE - IDTS_CTRL_BACKEND_OFFSET) / sizeof(uint32_t)];
};
#define XEN_MAX_DATA_PAGES (sizeof(struct xen_refs) / sizeof(uint32_t))

/* A knock of ours in XenStore, until unknock. */
struct xen_knock {
    unsigned domid; /* of the inbox */
    unsigned n;     /* of the node's name */
    char key[IDTS_KEY_MAX];
};

struct xen_backend {
    struct xs_handle *xs;
    xengntshr_handle *gntshr;
    xengnttab_handle *gnttab;
    unsigned domid;
    char dir[48]; /* our /local/domain/<domid>/data/idts */
    char inbox[IDTS_KEY_MAX];
    char last_knock[XEN_PATH_MAX]; /* a knock's write and perms may fire twice */
    unsigned knocks;
    /* Each a node of our domain's, counted against its XenStore quota. */
    struct xen_knock *sent;
    unsigned sent_count, sent_size;
};

struct xen_link {
    struct xen_backend *xb;
    int creator;
    unsigned peer;
    xenevtchn_handle *evtchn;
    evtchn_port_t port; /* ours */
    void *ctrl;
    void *data;
    uint32_t pages;               /* of data */
    uint32_t ctrl_ref;            /* creator */
    int published;                /* node is ours to remove */
    char node[XEN_PATH_MAX];      /* ours */
    char peer_node[XEN_PATH_MAX]; /* the peer's: gone means the peer is */
};

static char *read_node(struct xen_backend *xb, const char *path)
{
    unsigned len;

    return xs_read(xb->xs, XBT_NULL, path, &len);
}

/* Write path = value, readable by domain `reader` (or by all with -1).
 * A new node takes the rights of its parent, and a new bucket those of our
 * data directory, which no other guest may read: a peer's watch fires when
 * the rights below are set, and by then the value is whole. So no
 * transaction is needed, and none is used: xenstored allows a domain only a
 * few open at once (ENOSPC beyond), and all the ranks of a guest share the
 * guest's one connection. */
static int write_node(struct xen_backend *xb, const char *path, const char *value, int reader)
{
    struct xs_permissions perms[2] = {
        {.id = xb->domid, .perms = reader < 0 ? XS_PERM_READ : XS_PERM_NONE},
        {.id = (unsigned)reader, .perms = XS_PERM_READ},
    };
    /* The owner always may read; xenstored refuses it listed twice. */
    unsigned count = reader < 0 || (unsigned)reader == xb->domid ? 1 : 2;

    if (!xs_write(xb->xs, XBT_NULL, path, value, (unsigned)strlen(value)) ||
        !xs_set_permissions(xb->xs, XBT_NULL, path, perms, count))
        return -errno;
    return 0;
}

/* A node of ours whose writer is dead is left over from a killed process. */
static int node_is_stale(struct xen_backend *xb, const char *path)
{
    char *value = read_node(xb, path);
    unsigned pid;
    int stale = 0;

    if (value) {
        char *space = strchr(value, ' ');

        if (space)
            *space = '\0';
        stale = idts_xen_parse_uint(value, INT32_MAX, &pid) != 0 ||
                (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
        free(value);
    }
    return stale;
}

/* Remove our nodes that match: stale ones at open, our knocks at close. */
static void remove_nodes(struct xen_backend *xb, int (*match)(struct xen_backend *, const char *))
{
    char bucket[XEN_PATH_MAX], path[2 * XEN_PATH_MAX];
    unsigned n, i, m, j;
    char **buckets = xs_directory(xb->xs, XBT_NULL, xb->dir, &n);

    for (i = 0; buckets && i < n; i++) {
        char **names;

        snprintf(bucket, sizeof(bucket), "%s/%s", xb->dir, buckets[i]);
        names = xs_directory(xb->xs, XBT_NULL, bucket, &m);
        for (j = 0; names && j < m; j++) {
            snprintf(path, sizeof(path), "%s/%s", bucket, names[j]);
            if (match(xb, path))
                xs_rm(xb->xs, XBT_NULL, path);
        }
        free(names);
    }
    free(buckets);
}

static int is_my_knock(struct xen_backend *xb, const char *path)
{
    char mark[32];

    (void)xb;
    snprintf(mark, sizeof(mark), "@" XEN_KNOCK_NAME, (int)getpid());
    return strstr(path, mark) != NULL;
}

static int open_failed(struct idts_backend *be, int err, const char *what)
{
    snprintf(be->why, sizeof(be->why), "%s (%s)", what, strerror(err));
    return -ENODEV;
}

static int no_access(struct idts_backend *be, const char *device)
{
    snprintf(be->why, sizeof(be->why),
             "no permission to open %s: give this user read and write access to it", device);
    return -ENODEV;
}

/* A device that did not open: what the error means for the user, and the fix. */
static int device_failed(struct idts_backend *be, int err, const char *device, const char *module)
{
    if (err == EACCES || err == EPERM)
        return no_access(be, device);
    if (err != ENOENT && err != ENXIO && err != ENODEV)
        return open_failed(be, err, device);
    snprintf(be->why, sizeof(be->why), "%s is missing: load the %s module (modprobe %s)", device,
             module, module);
    return -ENODEV;
}

/* libxenstore tries xenstored's socket (dom0), then /dev/xen/xenbus, then
 * xenfs's /proc/xen/xenbus: errno is the last one's. */
static int xenstore_failed(struct idts_backend *be, int err)
{
    if (err == EACCES || err == EPERM)
        return no_access(be, "/dev/xen/xenbus");
    if (err != ENOENT)
        return open_failed(be, err, "XenStore is not reachable");
    snprintf(be->why, sizeof(be->why),
             "XenStore is not reachable: not a Xen domain (no /dev/xen/xenbus, and no xenfs "
             "mounted on /proc/xen)");
    return -ENODEV;
}

static int read_identity(struct idts_backend *be, struct xen_backend *xb)
{
    char *domid = read_node(xb, "domid");
    char *host;
    int rc = domid ? idts_xen_parse_uint(domid, XEN_MAX_DOMID, &xb->domid) : -ENOENT;

    free(domid);
    if (rc)
        return open_failed(be, -rc, "this domain's id is not in XenStore (domid)");
    snprintf(be->instance, sizeof(be->instance), "%u", xb->domid);
    host = read_node(xb, XEN_HOST_NODE);
    if (!host || !host[0] || strlen(host) >= sizeof(be->host) ||
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") !=
            strlen(host)) {
        free(host);
        snprintf(be->why, sizeof(be->why),
                 "XenStore has no valid host identity for domain %u (%s): run idts-hostd in "
                 "dom0",
                 xb->domid, XEN_HOST_NODE);
        return -ENODEV;
    }
    strcpy(be->host, host);
    free(host);
    snprintf(xb->dir, sizeof(xb->dir), "/local/domain/%u/data/idts", xb->domid);
    return 0;
}

/* The path of node key@suffix of domain domid. */
static void node_path(char *path, size_t len, unsigned domid, const char *key, const char *suffix)
{
    char name[IDTS_KEY_MAX + 32];

    snprintf(name, sizeof(name), "%s@%s", key, suffix);
    idts_xen_node_path(path, len, domid, name);
}

/* Where the end of domain domid that listens on `key` has its inbox node. */
static void inbox_path(char *path, size_t len, unsigned domid, const char *key)
{
    node_path(path, len, domid, key, "inbox");
}

static void xen_be_close(struct idts_backend *be)
{
    struct xen_backend *xb = be->priv;
    char path[XEN_PATH_MAX];

    if (xb->xs && xb->dir[0]) {
        if (xb->inbox[0]) {
            xs_unwatch(xb->xs, "/local/domain", "idts-knock");
            inbox_path(path, sizeof(path), xb->domid, xb->inbox);
            xs_rm(xb->xs, XBT_NULL, path);
        }
        remove_nodes(xb, is_my_knock);
    }
    free(xb->sent);
    if (xb->gnttab)
        xengnttab_close(xb->gnttab);
    if (xb->gntshr)
        xengntshr_close(xb->gntshr);
    xs_close(xb->xs);
    free(xb);
    be->priv = NULL;
}

static int xen_be_open(struct idts_backend *be)
{
    struct xen_backend *xb = calloc(1, sizeof(*xb));
    xenevtchn_handle *evtchn;
    int rc;

    if (!xb)
        return -ENOMEM;
    be->priv = xb;
    xb->xs = xs_open(0);
    if (!xb->xs)
        rc = xenstore_failed(be, errno);
    else
        rc = read_identity(be, xb);
    if (rc == 0 && !(xb->gntshr = xengntshr_open(&idts_xen_quiet, 0)))
        rc = device_failed(be, errno, "/dev/xen/gntalloc", "xen-gntalloc");
    if (rc == 0 && !(xb->gnttab = xengnttab_open(&idts_xen_quiet, 0)))
        rc = device_failed(be, errno, "/dev/xen/gntdev", "xen-gntdev");
    if (rc == 0) {
        evtchn = xenevtchn_open(&idts_xen_quiet, 0);
        if (evtchn)
            xenevtchn_close(evtchn);
        else
            rc = device_failed(be, errno, "/dev/xen/evtchn", "xen-evtchn");
    }
    if (rc) {
        xen_be_close(be);
        return rc;
    }
    remove_nodes(xb, node_is_stale);
    be->share_size = IDTS_XEN_SHARE_SIZE;
    be->share_limit = (size_t)idts_xen_grant_limit();
    return 0;
}

static int peer_domid(const char *peer, unsigned *domid)
{
    return idts_xen_parse_uint(peer, XEN_MAX_DOMID, domid) ? -EHOSTUNREACH : 0;
}

static struct xen_link *link_new(struct idts_backend *be, unsigned peer, int creator)
{
    struct xen_link *xl = calloc(1, sizeof(*xl));

    if (xl) {
        xl->xb = be->priv;
        xl->peer = peer;
        xl->creator = creator;
        xl->evtchn = xenevtchn_open(&idts_xen_quiet, 0);
        if (!xl->evtchn) {
            free(xl);
            xl = NULL;
        }
    }
    return xl;
}

static void set_paths(struct xen_link *xl, const char *key)
{
    const char *ours = xl->creator ? "offer" : "attach";
    const char *theirs = xl->creator ? "attach" : "offer";

    node_path(xl->node, sizeof(xl->node), xl->xb->domid, key, ours);
    node_path(xl->peer_node, sizeof(xl->peer_node), xl->peer, key, theirs);
}

/* Says in be->why which step failed, for the user's error message. */
static int step_failed(struct idts_backend *be, int err, const char *step)
{
    snprintf(be->why, sizeof(be->why), "xen: %s failed (%s)", step, strerror(err));
    return -err;
}

/* xenstored refuses a domain more nodes than its quota (1000 by default)
 * with ENOSPC: many ranks with many tunnels each reach it. */
static int write_failed(struct idts_backend *be, int err, const char *step)
{
    if (err != ENOSPC)
        return step_failed(be, err, step);
    snprintf(be->why, sizeof(be->why),
             "XenStore holds this domain's quota of nodes: raise it in dom0 (xenstored "
             "--entry-nb, e.g. 4096, in XENSTORED_ARGS of /etc/default/xencommons)");
    return -err;
}

/* gntalloc refuses more grants than its device-wide limit with ENOSPC. */
static int share_failed(struct idts_backend *be, int err, size_t pages)
{
    if (err != ENOSPC && err != ENOMEM)
        return step_failed(be, err, "sharing pages (gntalloc)");
    snprintf(be->why, sizeof(be->why),
             "this domain may share no more pages: %zu more would exceed the grant limit "
             "in /sys/module/xen_gntalloc/parameters/limit (raise it, or use smaller rings)",
             pages);
    return -err;
}

static int xen_be_share(struct idts_backend *be, const char *peer, size_t data_size,
                        struct idts_link *link)
{
    struct xen_backend *xb = be->priv;
    struct xen_link *xl;
    struct xen_refs *refs;
    unsigned domid;
    int rc = peer_domid(peer, &domid);

    if (rc)
        return rc;
    if (data_size == 0 || data_size % IDTS_PAGE_SIZE ||
        data_size / IDTS_PAGE_SIZE > XEN_MAX_DATA_PAGES)
        return -EMSGSIZE;
    xl = link_new(be, domid, 1);
    if (!xl)
        return -errno;
    link->priv = xl;
    xl->pages = (uint32_t)(data_size / IDTS_PAGE_SIZE);
    rc = xenevtchn_bind_unbound_port(xl->evtchn, domid);
    if (rc < 0)
        return step_failed(be, errno, "binding an event channel for the peer");
    xl->port = (evtchn_port_t)rc;
    xl->ctrl = xengntshr_share_page_notify(xb->gntshr, domid, &xl->ctrl_ref, 1,
                                           (uint32_t)link->live_offset, xl->port);
    if (!xl->ctrl)
        return share_failed(be, errno, xl->pages + 1);
    refs = (struct xen_refs *)((uint8_t *)xl->ctrl + IDTS_CTRL_BACKEND_OFFSET);
    xl->data = xengntshr_share_pages(xb->gntshr, domid, (int)xl->pages, refs->ref, 1);
    if (!xl->data)
        return share_failed(be, errno, xl->pages);
    link->ctrl = xl->ctrl;
    link->data = xl->data;
    link->data_size = data_size;
    return 0;
}

static int node_exists_alive(struct xen_backend *xb, const char *path)
{
    char *value = read_node(xb, path);

    free(value);
    return value != NULL && !node_is_stale(xb, path);
}

static int xen_be_publish(struct idts_backend *be, struct idts_link *link, const char *key,
                          const char *inbox)
{
    struct xen_link *xl = link->priv;
    char value[64];
    int rc;

    (void)inbox;
    set_paths(xl, key);
    if (node_exists_alive(be->priv, xl->node))
        return -EADDRINUSE;
    snprintf(value, sizeof(value), "%d %" PRIu32 " %u %" PRIu32, (int)getpid(), xl->ctrl_ref,
             (unsigned)xl->port, xl->pages);
    rc = write_node(be->priv, xl->node, value, (int)xl->peer);
    xl->published = rc == 0;
    return rc ? write_failed(be, -rc, "publishing the offer in XenStore") : 0;
}

/* Once the attacher has said it mapped, our offer is withdrawn. */
static int xen_be_accept(struct idts_backend *be, struct idts_link *link)
{
    struct xen_link *xl = link->priv;
    char *attached = read_node(be->priv, xl->peer_node);
    char value[16];

    if (!attached)
        return -EAGAIN;
    free(attached);
    snprintf(value, sizeof(value), "%d", (int)getpid());
    return write_node(be->priv, xl->node, value, (int)xl->peer);
}

static int map_data(struct xen_backend *xb, struct xen_link *xl)
{
    const volatile struct xen_refs *shared =
        (const volatile struct xen_refs *)((const uint8_t *)xl->ctrl + IDTS_CTRL_BACKEND_OFFSET);
    uint32_t refs[XEN_MAX_DATA_PAGES];
    uint32_t i;

    /* Copied once: the creator cannot change what we map after we check it. */
    for (i = 0; i < xl->pages; i++)
        refs[i] = shared->ref[i];
    xl->data = xengnttab_map_domain_grant_refs(xb->gnttab, xl->pages, xl->peer, refs,
                                               PROT_READ | PROT_WRITE);
    return xl->data ? 0 : -errno;
}

static int xen_be_map(struct idts_backend *be, const char *peer, const char *key,
                      struct idts_link *link)
{
    struct xen_backend *xb = be->priv;
    struct xen_link *xl;
    char *offer, value[16];
    unsigned domid, port;
    int rc = peer_domid(peer, &domid);

    if (rc)
        return rc;
    if (!link->priv) {
        link->priv = link_new(be, domid, 0);
        if (!link->priv)
            return -errno;
        set_paths(link->priv, key);
    }
    xl = link->priv;
    offer = read_node(xb, xl->peer_node);
    if (!offer)
        return -EAGAIN;
    rc = idts_xen_parse_offer(offer, XEN_MAX_DATA_PAGES, &xl->ctrl_ref, &port, &xl->pages);
    /* A bare pid: the offer was taken by another attacher. */
    if (rc && !strchr(offer, ' '))
        rc = -EAGAIN;
    free(offer);
    if (rc)
        return rc;
    rc = xenevtchn_bind_interdomain(xl->evtchn, domid, port);
    if (rc < 0)
        return step_failed(be, errno, "binding to the peer's event channel");
    xl->port = (evtchn_port_t)rc;
    xl->ctrl =
        xengnttab_map_grant_ref_notify(xb->gnttab, domid, xl->ctrl_ref, PROT_READ | PROT_WRITE,
                                       (uint32_t)link->live_offset, xl->port);
    if (!xl->ctrl)
        return step_failed(be, errno, "mapping the peer's control page (gntdev)");
    rc = map_data(xb, xl);
    if (rc)
        return step_failed(be, -rc, "mapping the peer's data pages (gntdev)");
    link->ctrl = xl->ctrl;
    link->data = xl->data;
    link->data_size = (size_t)xl->pages * IDTS_PAGE_SIZE;
    snprintf(value, sizeof(value), "%d", (int)getpid());
    rc = write_node(xb, xl->node, value, (int)domid);
    xl->published = rc == 0;
    return rc ? write_failed(be, -rc, "writing our XenStore node") : 0;
}

static int xen_be_notify(struct idts_link *link)
{
    struct xen_link *xl = link->priv;

    return xenevtchn_notify(xl->evtchn, xl->port) < 0 ? -errno : 0;
}

/* Its XenStore node vanishes with the peer's domain (and with a clean close). */
static int peer_gone(struct xen_link *xl)
{
    char *value = read_node(xl->xb, xl->peer_node);

    free(value);
    return value == NULL && (errno == ENOENT || errno == EACCES);
}

/* The event channel of every link, then the watch that brings knocks. */
static int xen_be_wait(struct idts_backend *be, struct idts_link *const *links, int n,
                       int timeout_ms)
{
    struct xen_backend *xb = be->priv;
    struct pollfd *fds = calloc((size_t)n + 1, sizeof(*fds));
    int i, rc;

    if (!fds)
        return -ENOMEM;
    for (i = 0; i < n; i++) {
        struct xen_link *xl = links[i]->priv;

        fds[i] = (struct pollfd){.fd = xenevtchn_fd(xl->evtchn), .events = POLLIN};
    }
    fds[n] = (struct pollfd){.fd = xb->inbox[0] ? xs_fileno(xb->xs) : -1, .events = POLLIN};
    rc = poll(fds, (nfds_t)n + 1, timeout_ms);
    if (rc < 0)
        rc = errno == EINTR ? 0 : -errno;
    else
        rc = rc == 0 ? -ETIMEDOUT : 0;
    for (i = 0; rc == 0 && i < n; i++) {
        struct xen_link *xl = links[i]->priv;
        xenevtchn_port_or_error_t port;

        if (fds[i].revents && (port = xenevtchn_pending(xl->evtchn)) >= 0)
            xenevtchn_unmask(xl->evtchn, (evtchn_port_t)port);
    }
    free(fds);
    return rc;
}

/* A link's event channel; the XenStore watch that brings knocks. */
static int xen_be_fds(struct idts_backend *be, struct idts_link *link, int *fds, int max)
{
    struct xen_backend *xb = be->priv;
    struct xen_link *xl = link ? link->priv : NULL;
    int fd = xl ? xenevtchn_fd(xl->evtchn) : xb->inbox[0] ? xs_fileno(xb->xs) : -1;

    if (fd < 0 || max < 1)
        return 0;
    fds[0] = fd;
    return 1;
}

/* A destroyed domain runs no unmap notify, but its XenStore tree goes. */
static int xen_be_check(struct idts_link *link)
{
    return peer_gone(link->priv) ? -EPIPE : 0;
}

static void xen_be_unlink(struct idts_backend *be, struct idts_link *link)
{
    struct xen_backend *xb = be->priv;
    struct xen_link *xl = link->priv;

    if (!xl)
        return;
    /* The control page last: unmapping it is what notifies the peer. */
    if (xl->creator) {
        if (xl->data)
            xengntshr_unshare(xb->gntshr, xl->data, xl->pages);
        if (xl->ctrl)
            xengntshr_unshare(xb->gntshr, xl->ctrl, 1);
    } else {
        if (xl->data)
            xengnttab_unmap(xb->gnttab, xl->data, xl->pages);
        if (xl->ctrl)
            xengnttab_unmap(xb->gnttab, xl->ctrl, 1);
    }
    if (xl->port)
        xenevtchn_unbind(xl->evtchn, xl->port);
    xenevtchn_close(xl->evtchn);
    if (xl->published)
        xs_rm(xb->xs, XBT_NULL, xl->node);
    free(xl);
    link->priv = NULL;
    link->ctrl = link->data = NULL;
}

static int xen_be_listen(struct idts_backend *be, const char *key)
{
    struct xen_backend *xb = be->priv;
    char path[XEN_PATH_MAX], value[16];
    int rc;

    if (xb->inbox[0])
        return -EBUSY;
    if (!xs_watch(xb->xs, "/local/domain", "idts-knock"))
        return -errno;
    strcpy(xb->inbox, key);
    inbox_path(path, sizeof(path), xb->domid, key);
    snprintf(value, sizeof(value), "%d", (int)getpid());
    rc = write_node(xb, path, value, -1);
    return rc ? write_failed(be, -rc, "writing our inbox node in XenStore") : 0;
}

/* The node of our nth knock at the inbox `key`. */
static void knock_path(char *path, size_t len, struct xen_backend *xb, const char *key, unsigned n)
{
    char knock[32];

    snprintf(knock, sizeof(knock), XEN_KNOCK_NAME "%u", (int)getpid(), n);
    node_path(path, len, xb->domid, key, knock);
}

/* Note a knock for unknock; one not noted (no memory) stays until close. */
static void note_knock(struct xen_backend *xb, unsigned domid, const char *key, unsigned n)
{
    struct xen_knock *knock;

    if (xb->sent_count == xb->sent_size) {
        unsigned size = xb->sent_size ? 2 * xb->sent_size : 16;
        struct xen_knock *sent = realloc(xb->sent, size * sizeof(*sent));

        if (!sent)
            return;
        xb->sent = sent;
        xb->sent_size = size;
    }
    knock = &xb->sent[xb->sent_count++];
    knock->domid = domid;
    knock->n = n;
    snprintf(knock->key, sizeof(knock->key), "%s", key);
}

static int xen_be_knock(struct idts_backend *be, const char *peer, const char *key, const void *msg,
                        size_t len)
{
    struct xen_backend *xb = be->priv;
    char path[XEN_PATH_MAX], value[2 * XEN_KNOCK_MAX + 16];
    unsigned domid, knock;
    char *inbox;
    int n, rc = peer_domid(peer, &domid);

    if (rc)
        return rc;
    if (len > XEN_KNOCK_MAX)
        return -EMSGSIZE;
    inbox_path(path, sizeof(path), domid, key);
    inbox = read_node(xb, path);
    if (!inbox)
        return -EAGAIN;
    free(inbox);
    knock = xb->knocks++;
    knock_path(path, sizeof(path), xb, key, knock);
    n = snprintf(value, sizeof(value), "%d ", (int)getpid());
    idts_xen_to_hex(msg, len, value + n);
    rc = write_node(xb, path, value, (int)domid);
    if (rc == 0)
        note_knock(xb, domid, key, knock);
    return rc;
}

/* A knock's node would otherwise stay until we close: with a tunnel end and
 * an inbox, the third kind of node a guest's quota counts (README, "XenStore's
 * limits"). */
static void xen_be_unknock(struct idts_backend *be, const char *peer, const char *key)
{
    struct xen_backend *xb = be->priv;
    char path[XEN_PATH_MAX];
    unsigned domid, i = 0;

    if (peer_domid(peer, &domid))
        return;
    while (i < xb->sent_count) {
        struct xen_knock *knock = &xb->sent[i];

        if (knock->domid != domid || strcmp(knock->key, key) != 0) {
            i++;
            continue;
        }
        knock_path(path, sizeof(path), xb, knock->key, knock->n);
        xs_rm(xb->xs, XBT_NULL, path);
        *knock = xb->sent[--xb->sent_count];
    }
}

/* The value of a knock node addressed to our inbox, or NULL for any other event. */
static char *knock_value(struct xen_backend *xb, const char *path)
{
    if (!idts_xen_knock_for(path, xb->inbox) || strcmp(path, xb->last_knock) == 0)
        return NULL;
    snprintf(xb->last_knock, sizeof(xb->last_knock), "%s", path);
    return read_node(xb, path);
}

static int xen_be_knocked(struct idts_backend *be, void *msg, size_t len)
{
    struct xen_backend *xb = be->priv;
    char **event;

    if (!xb->inbox[0])
        return -EAGAIN;
    while ((event = xs_check_watch(xb->xs))) {
        char *value = knock_value(xb, event[XS_WATCH_PATH]);
        int rc = value ? idts_xen_parse_knock(value, msg, len) : -EPROTO;

        free(event);
        free(value);
        if (rc != -EPROTO)
            return rc;
    }
    return errno == EAGAIN ? -EAGAIN : -errno;
}

/* The inbox node goes with the domain, and with the process's close; a
 * killed process's stays until the next idts process of its domain. */
static int xen_be_listening(struct idts_backend *be, const char *peer, const char *key)
{
    char path[XEN_PATH_MAX], *inbox;
    unsigned domid;
    int rc = peer_domid(peer, &domid);

    if (rc)
        return rc;
    inbox_path(path, sizeof(path), domid, key);
    inbox = read_node(be->priv, path);
    if (inbox) {
        free(inbox);
        return 0;
    }
    return errno == ENOENT || errno == EACCES ? -EPIPE : -errno;
}

const struct idts_backend_ops idts_backend_xen = {
    .name = "xen",
    .open = xen_be_open,
    .close = xen_be_close,
    .share = xen_be_share,
    .publish = xen_be_publish,
    .accept = xen_be_accept,
    .map = xen_be_map,
    .notify = xen_be_notify,
    .wait = xen_be_wait,
    .check = xen_be_check,
    .unlink = xen_be_unlink,
    .listen = xen_be_listen,
    .knock = xen_be_knock,
    .unknock = xen_be_unknock,
    .knocked = xen_be_knocked,
    .fds = xen_be_fds,
    .listening = xen_be_listening,
};
