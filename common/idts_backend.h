/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * The platform interface: what a tunnel needs from the system underneath.
 *
 * A backend shares pages between two ends, wakes one end from the other, and
 * lets the attacher find what the creator shared under a key both ends know.
 * It also names where it runs: the "host" is the set of ends it can connect
 * (one physical machine for xen, one kernel and network namespace for shm),
 * the "instance" is the operating system an end runs in (a Xen domain, a
 * kernel). Backends know nothing of rings or of MPI.
 *
 * How the operations map:
 *              xen                                  shm
 *   share      gntshr pages + unbound event port    memfd + two eventfds
 *   publish    XenStore keys under our domain       connect to the peer's inbox, send the fds
 *   accept     nothing left to do                   send them, if the inbox could not take them
 *   map        XenStore read, gnttab map, bind      take the fds from our inbox
 *   notify     event channel notify                 eventfd write
 *   wait       poll the event channel fds           poll eventfds + sockets
 *   check      the peer's XenStore node is there    the socket has not hung up
 *   listen     watch a XenStore key of ours         listen on an abstract seqpacket socket
 *   knock      write the key the peer watches       connect to its inbox, send the message
 *   unknock    remove the knocks' keys              nothing: the message is gone once taken
 *   listening  the peer's inbox node is there       its inbox socket accepts a connect
 *
 * Knocks let an end that has nothing to send learn that a peer wants a
 * tunnel, so tunnels are made only between ends that talk. An end listens
 * from its start to its close, so its inbox also says whether it is still
 * there when no tunnel to it exists yet: a peer that takes minutes to come
 * is waited for as long as it lives, and no longer. Neither end needs the
 * other to run while it connects: what one publishes or knocks waits (in
 * XenStore, in the kernel) until the other takes it.
 *
 * All calls return 0 or a negative errno; -EAGAIN means "not yet, call again".
 */
#ifndef IDTS_BACKEND_H
#define IDTS_BACKEND_H

#include <stddef.h>

#define IDTS_ID_MAX  80 /* bytes of a host or instance identity, with NUL */
#define IDTS_KEY_MAX 64 /* bytes of a connection key, with NUL */

/* One end's side of a shared region and its notification channel. */
struct idts_link {
    void *ctrl;       /* the control page, IDTS_CTRL_SIZE bytes */
    void *data;       /* the data area */
    size_t data_size; /* bytes of data; on map, as the creator shared it */
    /* Offset in the control page of the byte that says this end is live;
     * set by the caller before share or map. Backends that can (xen's
     * unmap-notify) clear it when the end dies. */
    size_t live_offset;
    /* The tunnel's: the peer promised, in this region, never to sleep
     * (idts_abi.h, "Notification"); read from the control page until it
     * has, then known for the region. Backends leave it alone. */
    int peer_polls;
    void *priv; /* the backend's */
};

struct idts_backend;

struct idts_backend_ops {
    const char *name;
    /* Acquire what the backend needs (devices, handles) and fill be->host
     * and be->instance. -ENODEV with be->why filled when unusable here;
     * host and instance then keep what was learnt before the failure (for
     * diagnostics such as idts-info). */
    int (*open)(struct idts_backend *be);
    void (*close)(struct idts_backend *be);
    /* Creator: allocate a control page and data_size bytes shared with the
     * end running in instance `peer`, and a notification channel to it. */
    int (*share)(struct idts_backend *be, const char *peer, size_t data_size,
                 struct idts_link *link);
    /* Creator: make the link findable by the peer under `key`; `inbox` is
     * where the peer listens (shm hands the region over there). */
    int (*publish)(struct idts_backend *be, struct idts_link *link, const char *key,
                   const char *inbox);
    /* Creator: complete the hand-over once the peer has come; -EAGAIN
     * before. Afterwards the key is no longer published. */
    int (*accept)(struct idts_backend *be, struct idts_link *link);
    /* Attacher: find what instance `peer` published under `key`, map it and
     * bind to its channel; -EAGAIN while it is not (yet) there. */
    int (*map)(struct idts_backend *be, const char *peer, const char *key, struct idts_link *link);
    /* Wake the other end. */
    int (*notify)(struct idts_link *link);
    /* Sleep until one of the n links is notified, a knock reaches our inbox
     * or timeout_ms passes (-1: no limit). 0 when woken (possibly
     * spuriously), -ETIMEDOUT, or -EPIPE when the backend saw the other end
     * of a link go (check them: it wakes every sleep until that link goes). */
    int (*wait)(struct idts_backend *be, struct idts_link *const *links, int n, int timeout_ms);
    /* 0 while the backend sees the other end of the link, -EPIPE once it
     * knows that end's process or domain is gone. May ask XenStore: for
     * calling now and then, not per record. */
    int (*check)(struct idts_link *link);
    /* Undo share/publish/map, whatever of it was done. */
    void (*unlink)(struct idts_backend *be, struct idts_link *link);
    /* Start receiving knocks sent to `key` (one inbox per backend; closed by
     * close). */
    int (*listen)(struct idts_backend *be, const char *key);
    /* Send a short message to the inbox `key` of the end in instance peer;
     * -EAGAIN while it cannot be delivered (no inbox yet, inbox full). */
    int (*knock)(struct idts_backend *be, const char *peer, const char *key, const void *msg,
                 size_t len);
    /* Withdraw what our knocks at that inbox left behind, once they have
     * served (the tunnel they asked for is open): a knock not taken by then
     * may be lost, which a peer already connecting does not miss. */
    void (*unknock)(struct idts_backend *be, const char *peer, const char *key);
    /* Take one knock: its length, or -EAGAIN when there is none. Knocks are
     * unauthenticated hints: check what they say before acting. */
    int (*knocked)(struct idts_backend *be, void *msg, size_t len);
    /* The descriptors that become readable when the link is notified or its
     * other end goes, or with link NULL when something comes to our inbox:
     * for a caller that waits on them together with descriptors of its own
     * (an event loop), then lets wait(..., 0) take what woke it. Fills at
     * most max; returns how many. */
    int (*fds)(struct idts_backend *be, struct idts_link *link, int *fds, int max);
    /* 0 while the end in instance peer listens on the inbox `key`, -EPIPE
     * once it no longer does (its process or domain is gone). Costs a
     * system call (on xen a XenStore read): for now and then. */
    int (*listening)(struct idts_backend *be, const char *peer, const char *key);
};

struct idts_backend {
    const struct idts_backend_ops *ops;
    void *priv;
    char host[IDTS_ID_MAX];
    char instance[IDTS_ID_MAX];
    /* Bytes of data a link should share unless told otherwise: set by open. */
    size_t share_size;
    /* Pages (4 KiB) all ends in this instance may share together, control
     * pages included, or 0 where no fixed limit applies: set by open. Xen's
     * grants are a scarce, domain-wide budget (xen_gntalloc's limit); shm
     * memory is not. */
    size_t share_limit;
    char why[160]; /* why open failed, for the user */
};

/* The xen backend's share_size: rings of 1 MiB, 512 data pages + 1 control
 * page = 513 grants a tunnel; where many tunnels share a guest's grants,
 * the component sizes them smaller (btl_idts_budget.c). */
#define IDTS_XEN_SHARE_SIZE (2u << 20)
/* Where xen_gntalloc says how many grants a domain may share. */
#define IDTS_XEN_GRANT_LIMIT "/sys/module/xen_gntalloc/parameters/limit"

extern const struct idts_backend_ops idts_backend_shm;
extern const struct idts_backend_ops idts_backend_xen;

/*
 * Open the backend called `name` ("shm", "xen"), or with "auto" the first
 * that works here (xen, then shm). -ENOENT for an unknown or not compiled-in
 * name; otherwise as ops->open.
 */
int idts_backend_open(struct idts_backend *be, const char *name);
void idts_backend_close(struct idts_backend *be);

/* Nonzero if key is usable: 1 to IDTS_KEY_MAX-1 of [A-Za-z0-9_-], which
 * every backend can name (XenStore node names allow no '.'). */
int idts_key_valid(const char *key);

#endif
