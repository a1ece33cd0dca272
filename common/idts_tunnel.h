/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * A dual tunnel: two rings in one shared region, one per direction, and a
 * notification channel, between a creator and an attacher that agree on a key.
 *
 * Connecting never blocks: idts_tunnel_create() or idts_tunnel_attach() start
 * it, then idts_tunnel_connect() is called until it stops returning -EAGAIN
 * (idts_tunnel_connect_wait() does that with a deadline).
 *
 * Sending is reserve, fill in place, commit; receiving is peek, read in
 * place, release. Both are lock-free and make no system call unless the other
 * end asked to be woken. A tunnel is used by one thread at a time. The
 * creator may send as soon as idts_tunnel_create() returned: its records
 * wait in the ring until the attacher comes.
 *
 * Errors: -EAGAIN (try later), -EMSGSIZE (record larger than the ring
 * allows), -ENOTCONN (not connected yet), -EPIPE (the peer closed in order),
 * -ECONNRESET (the peer died; after either, the records it sent before are
 * still delivered), -EPROTO (the peer broke the protocol: the tunnel is
 * unusable), -ETIMEDOUT. Once a tunnel failed it keeps returning the same
 * error.
 */
#ifndef IDTS_TUNNEL_H
#define IDTS_TUNNEL_H

#include <stdint.h>
#include <time.h>

#include "idts_abi.h"
#include "idts_backend.h"
#include "idts_ring.h"

enum idts_tunnel_role { IDTS_TUNNEL_CREATOR, IDTS_TUNNEL_ATTACHER };
enum idts_tunnel_state {
    IDTS_TUNNEL_CONNECTING,
    IDTS_TUNNEL_OPEN,
    IDTS_TUNNEL_FAILED, /* see error */
    IDTS_TUNNEL_CLOSED, /* by idts_tunnel_close(): calls return -EBADF */
};

/* Default busy-poll time of idts_tunnel_wait() before it sleeps. */
#define IDTS_TUNNEL_SPIN_NS 50000u
/* A sleeping idts_tunnel_wait() looks for its peer at least this often. */
#define IDTS_TUNNEL_CHECK_MS 1000

struct idts_tunnel {
    struct idts_backend *backend;
    struct idts_link link; /* the region we write into */
    struct idts_ring tx, rx;
    /* Creator, while it moves the tunnel to a new region (idts_abi.h,
     * "Moving"): the old region, whose ring 1 rx still reads until the
     * attacher's MOVE, and the new region's ring 1, read after. */
    struct idts_link old;
    struct idts_ring next_rx;
    int moving;
    uint32_t generation; /* of the region in use */
    enum idts_tunnel_role role;
    enum idts_tunnel_state state;
    int error;        /* why the tunnel failed */
    int accepted;     /* creator: the backend handed the region over */
    int polls;        /* we promised the peer never to sleep */
    uint32_t spin_ns; /* see idts_tunnel_wait() */
    char peer[IDTS_ID_MAX];
    char key[IDTS_KEY_MAX];
    char inbox[IDTS_KEY_MAX]; /* creator: the peer's, for each new region */
};

/* Share a region with rings of ring_size bytes and publish it under key for
 * the end running in instance peer, which listens on inbox. */
int idts_tunnel_create(struct idts_tunnel *tunnel, struct idts_backend *backend, const char *peer,
                       const char *inbox, const char *key, uint32_t ring_size);
/* Prepare to map what instance peer publishes under key. */
int idts_tunnel_attach(struct idts_tunnel *tunnel, struct idts_backend *backend, const char *peer,
                       const char *key);
/* Advance the connection: 0 once open, -EAGAIN while waiting for the peer. */
int idts_tunnel_connect(struct idts_tunnel *tunnel);
/* idts_tunnel_connect() until open, failed, or timeout_ms passed. */
int idts_tunnel_connect_wait(struct idts_tunnel *tunnel, int timeout_ms);

/* The largest payload one record can carry; 0 until the rings are known. */
uint32_t idts_tunnel_max_payload(const struct idts_tunnel *tunnel);
/* The size of each ring of the region we write into; 0 until it is known. */
uint32_t idts_tunnel_ring_size(const struct idts_tunnel *tunnel);

/*
 * Creator: move the open tunnel to a new region with rings of ring_size
 * bytes (idts_abi.h, "Moving to a new region"): 0 once records go there,
 * -EAGAIN while the ring has no room for the MOVE, -EINVAL while a move is
 * under way or for a size the ABI does not allow, or the backend's error
 * sharing the region (the tunnel then stays as it was). The attacher
 * follows when it reads the MOVE, in idts_tunnel_peek().
 */
int idts_tunnel_grow(struct idts_tunnel *tunnel, uint32_t ring_size);

/* What idts_tunnel_reserve() does not inline: a tunnel not open, a ring
 * full or broken. */
int idts_tunnel_reserve_slowly(struct idts_tunnel *tunnel, uint32_t length, void **payload);
/* Room for a record of `length` payload bytes, as idts_ring_reserve(); the
 * creator's ring takes records before the attacher comes, as a socket's
 * buffer would. Inline, as every small send runs it: an open tunnel with room
 * costs one test and the ring's inline reserve. */
static inline int idts_tunnel_reserve(struct idts_tunnel *tunnel, uint32_t length, void **payload)
{
    if (tunnel->state == IDTS_TUNNEL_OPEN && idts_ring_reserve(&tunnel->tx, length, payload) == 0)
        return 0;
    return idts_tunnel_reserve_slowly(tunnel, length, payload);
}
/* Commit without looking whether the peer sleeps and wants waking: that
 * look costs a full barrier, which waits for every store of the record's
 * copy to land. A burst of records commits quietly, then
 * idts_tunnel_wake_consumer() looks once; a burst of releases, then
 * idts_tunnel_wake_producer(). */
static inline void idts_tunnel_commit_quietly(struct idts_tunnel *tunnel, uint8_t tag,
                                              uint32_t length)
{
    idts_ring_commit(&tunnel->tx, IDTS_RECORD_DATA, tag, length);
}
/* Wake the peer if it sleeps waiting for the records committed quietly
 * before: a full barrier and a look at its wait request, unless it promised
 * never to sleep (idts_tunnel_poll_only()). Inline, as every small send runs
 * it: with such a peer it is one test. */
int idts_tunnel_wake_consumer_slowly(struct idts_tunnel *tunnel);
static inline int idts_tunnel_wake_consumer(struct idts_tunnel *tunnel)
{
    return tunnel->link.peer_polls ? 0 : idts_tunnel_wake_consumer_slowly(tunnel);
}
/* Commit the record reserved, and wake the peer if it sleeps. */
static inline int idts_tunnel_commit(struct idts_tunnel *tunnel, uint8_t tag, uint32_t length)
{
    idts_tunnel_commit_quietly(tunnel, tag, length);
    return idts_tunnel_wake_consumer(tunnel);
}
/* reserve + copy + commit. */
int idts_tunnel_send(struct idts_tunnel *tunnel, uint8_t tag, const void *buf, uint32_t length);

/* 1 and *record filled, 0 when there is nothing, or an error. */
int idts_tunnel_peek(struct idts_tunnel *tunnel, struct idts_record *record);
int idts_tunnel_release(struct idts_tunnel *tunnel);
/* Release without looking whether the peer waits for room (see
 * idts_tunnel_commit_quietly()); inline, as it runs for every record. */
static inline void idts_tunnel_release_quietly(struct idts_tunnel *tunnel)
{
    idts_ring_release(&tunnel->rx);
}
/* Promise the peer that this end never sleeps on the tunnel (idts_abi.h,
 * "Notification"): its commits and releases then skip the full barrier
 * that looks for a sleeping peer, twice the rate of small records. From
 * then on idts_tunnel_arm() and the waits that sleep refuse (-EINVAL). */
void idts_tunnel_poll_only(struct idts_tunnel *tunnel);
/* The region the peer writes into, whose room we release: during the
 * creator's move, the old one until the attacher's MOVE arrives. */
static inline struct idts_link *idts_tunnel_producer_link(struct idts_tunnel *tunnel)
{
    return tunnel->moving ? &tunnel->old : &tunnel->link;
}
/* Wake the peer if it sleeps waiting for the room released quietly before,
 * as idts_tunnel_wake_consumer() does for records. */
int idts_tunnel_wake_producer_slowly(struct idts_tunnel *tunnel);
static inline int idts_tunnel_wake_producer(struct idts_tunnel *tunnel)
{
    return idts_tunnel_producer_link(tunnel)->peer_polls ? 0
                                                         : idts_tunnel_wake_producer_slowly(tunnel);
}

/* Nonzero when idts_tunnel_peek() would find nothing: an open tunnel with no
 * record waiting. Inline, for progress loops that poll many tunnels. */
static inline int idts_tunnel_idle(const struct idts_tunnel *tunnel)
{
    return tunnel->state == IDTS_TUNNEL_OPEN && idts_ring_empty(&tunnel->rx);
}

#define IDTS_WAIT_RECV 1u /* a record can be peeked */
#define IDTS_WAIT_SEND 2u /* a record of send_length bytes can be reserved */

/*
 * Wait until one of the events holds, polling for spin_ns and then sleeping
 * on the notification channel so an oversubscribed CPU is not burned.
 * Returns the events that hold, 0 on timeout (timeout_ms -1: none), or the
 * tunnel's error (-EPIPE or -ECONNRESET once the peer is gone and nothing
 * is left to read).
 */
int idts_tunnel_wait(struct idts_tunnel *tunnel, unsigned events, uint32_t send_length,
                     int timeout_ms);

/* What one tunnel of idts_tunnel_sleep() waits for, as idts_tunnel_wait(). */
struct idts_wait {
    struct idts_tunnel *tunnel;
    unsigned events;
    uint32_t send_length;
};

/*
 * For a caller that waits on its own event sources too: ask the peer to
 * wake us for the events, then look once more. Returns the events that
 * hold (do not sleep then) or an error, 0 when the caller may sleep on the
 * descriptors of the tunnel's links (backend's fds()), then drains them
 * with idts_tunnel_sleep(..., 0).
 */
int idts_tunnel_arm(struct idts_tunnel *tunnel, unsigned events, uint32_t send_length);
/* The links whose notifications concern the tunnel: during a move, the old
 * region's too, which the records we wait for still come through. Fills at
 * most 2; returns how many. */
int idts_tunnel_links(struct idts_tunnel *tunnel, struct idts_link **links);

/*
 * Sleep, without spinning, until one of n open tunnels may have one of its
 * events, a knock reaches the backend's inbox, or timeout_ms passes: the
 * idle wait of a loop that serves many tunnels. Returns 1 when something may
 * have happened (the caller then peeks, reserves, checks), 0 on timeout.
 */
int idts_tunnel_sleep(struct idts_backend *backend, const struct idts_wait *waits, int n,
                      int timeout_ms);

/* Nanoseconds on clock: CLOCK_MONOTONIC, on which idts_tunnel_wait() spins,
 * or CLOCK_THREAD_CPUTIME_ID, the CPU time the calling thread has run (a
 * system call: 1.4 us in a KVM guest). For callers that spin and sleep on
 * their own, as the BTL does. */
int64_t idts_clock_ns(clockid_t clock);

/*
 * Look at the peer without waiting: 0 while it is there; otherwise fail the
 * tunnel with -EPIPE (closed), -ECONNRESET (died: its process was killed,
 * its domain destroyed) or -EPROTO (it changed the control page). Costs a
 * system call (on xen a XenStore read): for now and then, not per record.
 */
int idts_tunnel_check(struct idts_tunnel *tunnel);

/* Tell the peer we are gone and release everything. */
void idts_tunnel_close(struct idts_tunnel *tunnel);

#endif
