/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * idts shared-memory ABI, version 5.
 *
 * This header is the whole contract between the two ends of a tunnel. A peer
 * written in another language needs nothing else. The layout is the same on
 * every backend (xen grants, POSIX shared memory); only the way the memory is
 * shared and the way ends wake each other differ.
 *
 * Region
 * ------
 * A tunnel is one shared region made by one end, the creator, and mapped by
 * the other, the attacher:
 *
 *   control page   IDTS_CTRL_SIZE bytes, struct idts_ctrl below
 *   data area      2 * ring_size bytes, page aligned:
 *                    [0, ring_size)             ring 0, creator -> attacher
 *                    [ring_size, 2 * ring_size) ring 1, attacher -> creator
 *
 * The control page and the data area need not be adjacent in an end's address
 * space (xen maps them with separate calls).
 *
 * Byte order is little endian. Integers are naturally aligned. Every field
 * with more than one writer is accessed with atomic instructions of its own
 * size. Only producers write the data area.
 *
 * Rings
 * -----
 * Each ring has one producer and one consumer, each with a position: a
 * free-running 32-bit byte counter that starts at 0 and wraps modulo 2^32;
 * the byte at counter value i lives at data[i & (ring_size - 1)]. The
 * consumer publishes its position as cons; the producer keeps its own, prod,
 * private. Bytes [cons, prod) hold records the consumer has not released.
 *
 * A record is an 8-byte struct idts_record_header, then `length` payload
 * bytes, then zero to 7 padding bytes so that the next record starts at a
 * multiple of IDTS_RECORD_ALIGN. A record never wraps past the end of the
 * ring: when the bytes left before the end are too few, the record goes at
 * offset 0 and a PAD record covers exactly the bytes left before the end.
 *
 * Eight zero bytes where a header would be are an end marker: no record
 * there yet. The consumer polls the header at its position, so a small
 * record reaches it in the cache line it polls, with nothing else to load.
 * The header is written and read as one 8-byte atomic access, and the
 * producer always leaves an end marker at prod: before it publishes a record
 * it zeroes the 8 bytes after it. The 8 bytes at offset 0 of each ring are
 * zero when the region is published.
 *
 * The consumer reads the end marker, so it counts as used space: the producer
 * never lets prod + 8 - cons exceed ring_size. A whole record
 * (header, payload, padding) is at most ring_size / 2 - 8 bytes, which
 * guarantees that it, any PAD before it and the end marker after it fit once
 * the ring drains.
 *
 * To publish a record at prod, the producer writes the payload, writes the
 * end marker at prod + the record's size (offset 0 when the record ends at
 * the ring's end), then store-releases the header. A record that goes at
 * offset 0 behind a PAD is written in full first (the 8-byte header store
 * may be relaxed), then the PAD header is store-released at prod: the
 * consumer finds the PAD only once the record it skips to is there.
 *
 * The consumer load-acquires the header at its position. An end marker:
 * nothing to read. A PAD: valid only away from offset 0 and with a length
 * reaching exactly to the ring's end; the consumer skips to offset 0 and
 * looks there (for a record or an end marker). A DATA or MOVE record: valid
 * only with the next sequence number, a length within the maximum and an end
 * within the ring. Anything else, including a nonzero header of another
 * type, means the peer is broken. Having read the record, the consumer
 * store-releases cons past it (and past the PAD before it, if any).
 *
 * An end that reads anything this forbids (a cons more than a ring behind
 * prod or ahead of it, a header that fails the checks) must treat the peer
 * as broken; it must never loop on or index with such values.
 *
 * Ordering (C11 terms; on x86 release and acquire are plain moves):
 *  - producer: write payload and end marker, then store-release the header;
 *  - consumer: load-acquire the header, then read the payload;
 *  - consumer: finish reading the record, then store-release cons;
 *  - producer: load-acquire cons before it reuses the bytes cons freed.
 *
 * Notification
 * ------------
 * An end that wants to sleep until data arrives sets consumer_waiting = 1,
 * issues a full barrier, then loads the header at its position again and
 * sleeps only if it is still an end marker. A producer, after each store of a
 * header, issues a full barrier, and if consumer_waiting is nonzero exchanges
 * it with 0 and notifies the peer. producer_waiting works the same way for
 * an end that waits for free space, which re-checks cons, and a consumer that
 * stored cons. The re-check after the barrier is what prevents a lost
 * wake-up; the exchange means one notification per sleep.
 *
 * The barrier waits until the header's store reaches the peer's cache, so
 * it halves the rate of small records. An end that never sleeps may say so
 * by storing 1 in its polls byte, once, and never sets a wait request after
 * it; a peer that finds the byte 1 skips the barrier and the look at the
 * wait requests. The promise may come at any time (the peer fences until it
 * sees it), and holds for the region; an end writes it again in each region
 * it moves to. An end that broke it would only sleep without being woken.
 *
 * Ring sizes
 * ----------
 * The creator chooses the size of a region's rings, a power of two from
 * IDTS_RING_MIN_SIZE to IDTS_RING_MAX_SIZE; the attacher takes any such
 * size. A region with rings of s bytes costs 2 s / 4 KiB data pages and a
 * control page (idts_region_pages()), on xen one grant each, which the
 * creator's domain pays for.
 * The idts BTL sizes rings from a budget of the creator's instance shared
 * by all the tunnels its ranks create, and moves a tunnel that streams to
 * larger rings while the budget allows (btl_idts/btl_idts_budget.c).
 *
 * Moving to a new region
 * ----------------------
 * A tunnel's rings may be replaced by larger (or smaller) ones while it
 * runs; only the creator decides, and both ends take part:
 *  1. The creator shares and publishes a new region under the key of the
 *     tunnel followed by "-" and the new generation in decimal (the first
 *     region has generation 0 and the bare key), formatted as a region is
 *     before it is published, its attacher_live WAITING.
 *  2. It writes a MOVE record into its ring of the old region (payload:
 *     struct idts_move) and from then on writes only into the new region's
 *     ring 0. It goes on reading ring 1 of the old region.
 *  3. The attacher, reading the MOVE, maps the new region and checks it as
 *     it checked the first, writes a MOVE of its own into ring 1 of the old
 *     region (the same payload), closes the old region (closed byte, then
 *     live byte GONE) and from then on uses only the new one, writing
 *     LIVE into its live byte there.
 *  4. The creator, reading the attacher's MOVE in the old ring 1, closes the
 *     old region and reads the new ring 1 from then on.
 * So each direction's records stay in order across the move, and neither
 * end waits for the other. Until the attacher's live byte in the new region
 * says LIVE, the creator judges its peer by the old region. A MOVE that
 * names another generation than the next, or a ring size the ABI does not
 * allow, breaks the protocol.
 *
 * Ends
 * ----
 * Each end has a live byte, a closed byte and a polls byte (see
 * "Notification"). An end that closes in order
 * (it will write nothing more) store-releases its closed byte = 1, then
 * stores GONE in its live byte, then notifies. A peer that finds the live
 * byte GONE, or learns from the backend that the end went (shm: its socket
 * hung up; xen: its XenStore node vanished with its domain), reads the
 * closed byte: 1 means an orderly close, 0 that the end died. Either way the
 * records it published before are whole and may still be read.
 */
#ifndef IDTS_ABI_H
#define IDTS_ABI_H

#include <stddef.h>
#include <stdint.h>

#define IDTS_ABI_MAGIC   0x53544449u /* "IDTS" in little-endian byte order */
#define IDTS_ABI_VERSION 5u

/* Regions are shared in pages of this size, on xen one grant each. */
#define IDTS_PAGE_SIZE 4096u
#define IDTS_CTRL_SIZE IDTS_PAGE_SIZE
#define IDTS_CACHELINE 64u

/* ring_size is a power of two in [IDTS_RING_MIN_SIZE, IDTS_RING_MAX_SIZE]. */
#define IDTS_RING_MIN_SIZE IDTS_PAGE_SIZE
#define IDTS_RING_MAX_SIZE (64u << 20)

#define IDTS_RECORD_ALIGN       8u
#define IDTS_RECORD_HEADER_SIZE 8u

/* Values of idts_ctrl.creator_live and idts_ctrl.attacher_live. */
enum idts_end_state {
    IDTS_END_GONE = 0,    /* closed, or died: xen's unmap-notify writes this */
    IDTS_END_LIVE = 1,    /* mapped and serving its rings */
    IDTS_END_WAITING = 2, /* attacher only: the creator's initial value */
};

/* Values of idts_record_header.type. */
enum idts_record_type {
    IDTS_RECORD_END = 0,  /* never a record: the whole header is zero, see above */
    IDTS_RECORD_DATA = 1, /* a message: tag and length are the sender's */
    IDTS_RECORD_PAD = 2,  /* filler up to the end of the ring: skip it */
    IDTS_RECORD_MOVE = 3, /* the writer continues in a new region: struct idts_move */
};

struct idts_record_header {
    /* +0, 4 bytes. DATA, MOVE: payload bytes, not counting header or
     * padding. PAD: bytes after this header up to the end of the ring. */
    uint32_t length;
    /* +4, 2 bytes. DATA, MOVE: sequence number of the record in its ring, 0
     * for the first and one more (mod 2^16) for each record after. PAD: 0. */
    uint16_t seq;
    /* +6, 1 byte. enum idts_record_type. */
    uint8_t type;
    /* +7, 1 byte. DATA: the sender's tag, opaque to the tunnel. PAD, MOVE: 0. */
    uint8_t tag;
};

/* The payload of a MOVE record, in sequence with the DATA records (tag 0). */
struct idts_move {
    /* +0, 4 bytes. The new region's generation: one more than the old one's. */
    uint32_t generation;
    /* +4, 4 bytes. The size of each of the new region's rings. */
    uint32_t ring_size;
};

/*
 * One ring's consumer position and wait requests, on three cache lines: cons,
 * which the consumer stores after every record, shares no line with the wait
 * requests, which the producer loads after every record. The first line is
 * unused since version 2 and keeps version 1's layout.
 */
struct idts_ring_ctrl {
    /* +0, 4 bytes. Zero. (Version 1's producer index: the consumer now
     * polls the header at its position instead.) */
    uint32_t reserved;
    uint8_t pad_reserved[IDTS_CACHELINE - 4];
    /* +64, 4 bytes. The consumer's position. Written by the consumer only
     * (store-release, after it has read the records); read by the producer
     * (load-acquire) when it runs short of space. */
    uint32_t cons;
    uint8_t pad_cons[IDTS_CACHELINE - 4];
    /* +128, 4 bytes. Set to 1 by the consumer before it sleeps (then full
     * barrier, then re-check the header at its position); exchanged with 0
     * by the producer, which then notifies. */
    uint32_t consumer_waiting;
    /* +132, 4 bytes. Set to 1 by the producer before it sleeps for space
     * (then full barrier, then re-check cons); exchanged with 0 by the
     * consumer, which then notifies. */
    uint32_t producer_waiting;
    uint8_t pad_wait[IDTS_CACHELINE - 8];
};

struct idts_ctrl {
    /* +0, 4 bytes. IDTS_ABI_MAGIC. Written by the creator before the region
     * is published; never written again. Like every field on this line. */
    uint32_t magic;
    /* +4, 2 bytes. IDTS_ABI_VERSION. An attacher refuses other versions. */
    uint16_t version;
    /* +6, 2 bytes. IDTS_CTRL_SIZE. */
    uint16_t ctrl_size;
    /* +8, 4 bytes. Size of each of the two rings in bytes (see above). */
    uint32_t ring_size;
    /* +12, 4 bytes. Zero. */
    uint32_t reserved;
    uint8_t pad_header[IDTS_CACHELINE - 16];
    /* +64, 1 byte. enum idts_end_state of the creator. The creator writes
     * LIVE before publishing and GONE when it closes; xen's unmap-notify
     * writes GONE if the creator dies. */
    uint8_t creator_live;
    /* +65, 1 byte. 1 once the creator closed in order: it store-releases
     * this after its last record and before creator_live goes GONE, so an
     * end that finds its peer GONE, or gone from the backend's view, with
     * this byte 0 knows the peer died. 0 when published. (xen's unmap-notify
     * clears the live byte on a clean unmap too: hence a byte of its own.) */
    uint8_t creator_closed;
    /* +66, 1 byte. 1 once the creator promised never to sleep (see
     * "Notification"); 0 when published. Never goes back to 0. */
    uint8_t creator_polls;
    uint8_t pad_creator[IDTS_CACHELINE - 3];
    /* +128, 1 byte. enum idts_end_state of the attacher. The creator writes
     * WAITING before publishing; the attacher writes LIVE once it has checked
     * the header and GONE when it closes (or unmap-notify does). */
    uint8_t attacher_live;
    /* +129, 1 byte. The attacher's closed byte, as creator_closed. */
    uint8_t attacher_closed;
    /* +130, 1 byte. The attacher's polls byte, as creator_polls. */
    uint8_t attacher_polls;
    uint8_t pad_attacher[IDTS_CACHELINE - 3];
    /* +192, 192 bytes each. ring[0]: creator -> attacher; ring[1]: attacher
     * -> creator. All zero when the region is published. */
    struct idts_ring_ctrl ring[2];
    /* +576 to the end of the page: the backend area, written by the creator
     * before the region is published and never again. xen: the grant
     * references of the data pages, in order, 4 bytes each. shm: zero. */
};

#define IDTS_CTRL_BACKEND_OFFSET 576u

_Static_assert(sizeof(struct idts_record_header) == IDTS_RECORD_HEADER_SIZE,
               "record header is 8 bytes");
_Static_assert(sizeof(struct idts_move) == 8, "a MOVE's payload is 8 bytes");
_Static_assert(sizeof(struct idts_ring_ctrl) == 3 * IDTS_CACHELINE,
               "ring control is three cache lines");
_Static_assert(offsetof(struct idts_ctrl, creator_live) == 64, "+64");
_Static_assert(offsetof(struct idts_ctrl, creator_closed) == 65, "+65");
_Static_assert(offsetof(struct idts_ctrl, creator_polls) == 66, "+66");
_Static_assert(offsetof(struct idts_ctrl, attacher_live) == 128, "+128");
_Static_assert(offsetof(struct idts_ctrl, attacher_closed) == 129, "+129");
_Static_assert(offsetof(struct idts_ctrl, attacher_polls) == 130, "+130");
_Static_assert(offsetof(struct idts_ctrl, ring) == 192, "+192");
_Static_assert(offsetof(struct idts_ring_ctrl, cons) == 64, "+64");
_Static_assert(offsetof(struct idts_ring_ctrl, consumer_waiting) == 128, "+128");
_Static_assert(sizeof(struct idts_ctrl) == IDTS_CTRL_BACKEND_OFFSET, "control fields end at +576");
_Static_assert(sizeof(struct idts_ctrl) <= IDTS_CTRL_SIZE, "control fields fit the control page");

/* Pages a region with rings of ring_size bytes shares: both rings and the
 * control page. */
static inline uint64_t idts_region_pages(uint32_t ring_size)
{
    return 2 * (uint64_t)ring_size / IDTS_PAGE_SIZE + IDTS_CTRL_SIZE / IDTS_PAGE_SIZE;
}

#endif
