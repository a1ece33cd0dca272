/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * The input language of each fuzz target: a header of a few fields, then
 * operations, each an opcode byte (taken modulo the target's count) and its
 * arguments. The harnesses read it, test/fuzz/seeds.c writes seeds in it.
 */
#ifndef IDTS_FUZZ_OPS_H
#define IDTS_FUZZ_OPS_H

/* What the peer does (fuzz_peer.h), in the ring, tunnel and BTL targets. */
enum fuzz_peer_op {
    PEER_SEND,    /* u16 length, u8 tag: an honest record */
    PEER_RECEIVE, /* an honest peek and release */
    PEER_POKE,    /* u8 area, u32 offset, u8 n, n bytes: anything, anywhere it can write */
    PEER_HEADER,  /* u8 how, u32 length, u16 seq, u8 type, u8 tag: where we look next */
    PEER_CONS,    /* u8 how, u32 value: the consumer index our producer trusts */
    PEER_OPS
};

/*
 * ring: u8 size (4 KiB << size % 5), u32 start position, u8 stale byte,
 * u16 first sequence number; then operations on our consumer view of the
 * ring the peer produces and our producer view of the ring it consumes.
 */
enum fuzz_ring_op {
    RING_PEEK = PEER_OPS,
    RING_RELEASE,
    RING_RESERVE,  /* u32 length */
    RING_COMMIT,   /* u16 length (at most the reserved one), u8 tag */
    RING_WRITABLE, /* u32 length */
    RING_EMPTY,
    RING_WAKE, /* u8 which: who asks (bit 0) for data or space (bit 1); the other takes */
    RING_OPS
};

/*
 * tunnel: u8 setup: bit 0 our role (0 creator, 1 attacher), ring size 4 KiB
 * << (setup >> 1) % 3 (the ring target tries the larger ones). A creator then takes u8 connects,
 * each u8 accept's answer (enum fuzz_answer) and u8 the attacher's live byte. An attacher takes u8
 * map's answer, u8 stale data byte, u8 data size (0: twice the ring size, else u32 bytes), u8 flags
 * (bit 0: the creator put no end markers), u8 n and n pokes of the control page (u16 offset, u8
 * length, bytes). Then operations on the tunnel.
 */
enum fuzz_tunnel_op {
    TUNNEL_PEEK = PEER_OPS,
    TUNNEL_RELEASE,
    TUNNEL_RESERVE, /* u32 length */
    TUNNEL_COMMIT,  /* u16 length, u8 tag */
    TUNNEL_SEND,    /* u16 length, u8 tag */
    TUNNEL_WAIT,    /* u8 events, u16 send length, u8 flags (bit 0: 1 ms), u8 answer */
    TUNNEL_IDLE,
    TUNNEL_PEER_LIVE, /* u8: the peer's live byte */
    TUNNEL_CONNECT,
    TUNNEL_CHECK,       /* u8 check's answer */
    TUNNEL_PEER_CLOSED, /* u8: the peer's closed byte */
    TUNNEL_OPS
};

/* A backend's answer, value % 4: one of those its operation may give
 * (idts_backend.h): accept and map 0, -EAGAIN, -EPIPE, -EIO; wait 0,
 * -ETIMEDOUT, -EPIPE, -EIO; check 0, 0, -EPIPE, -EIO. */
enum fuzz_answer { ANSWER_OK, ANSWER_NOT_YET, ANSWER_GONE, ANSWER_FAILED, ANSWERS };

/*
 * btl: u8 setup: bit 0 we create the tunnel (the peer's name sorts after
 * ours), bit 1 the peer knocks first, ring size 4 KiB << (setup >> 2) % 3;
 * u16 rendezvous record size (1 + n % the largest). Then operations on the
 * component with one endpoint. PEER_SEND is a record for the PML, of any tag.
 */
enum fuzz_btl_op {
    BTL_PROGRESS = PEER_OPS,
    /* u8 flags (bit 0 raw token, bit 1 raw handle, bit 2 raw address and
     * size, bit 3 raw length), u32 token, u8 registration, u64 handle,
     * u64 address (else i16 from the registration's), u64 size (else i16
     * from its size), [u8 length]: the peer asks for our memory. */
    BTL_GET_REQUEST,
    /* u8 get, u8 flags (bit 0 raw token), u32 token, u16 length, u32
     * status, u32 offset (i32 from what was answered): the peer answers. */
    BTL_GET_DATA,
    BTL_REGISTER,   /* u16 size, u8 for: this peer, any, another */
    BTL_DEREGISTER, /* u8 registration */
    BTL_GET,        /* u64 handle, u64 address, u16 size: we ask the peer */
    /* u8 kind: bit 0 u32 jobid and vpid, bit 1 u32 magic, bit 2 u8 length */
    BTL_KNOCK,
    BTL_OPS
};

/*
 * shm_offer: what a creator sends an attacher over the shm backend's socket.
 * u8 flags (bit 0: hang up instead of sending; bit 1: raw message bytes),
 * then the message: raw, u8 length and that many bytes; else u8 data size
 * (4 KiB << n % 10, as an honest creator) and u8 magic right (nonzero).
 * Then u8 n and n descriptors (enum fuzz_fd_kind by u8 % FDS, then for a
 * memfd u8 seals (F_SEAL_* bits, bit 7: no sealing allowed) and u8 size
 * (0: as offered, else u32 bytes)).
 */
enum fuzz_fd_kind { FD_MEMFD, FD_EVENTFD, FD_PIPE, FD_DEV_NULL, FD_SOCKET, FDS };

/*
 * xen_parse: u8 parser (enum fuzz_xen_parser by u8 % XEN_PARSERS), its
 * arguments, then the string it parses: the rest of the input.
 */
enum fuzz_xen_parser {
    XEN_UINT,        /* u32 max */
    XEN_OFFER,       /* u16 max pages */
    XEN_KNOCK,       /* u8 buffer length */
    XEN_KNOCK_PATH,  /* u8 inbox length, inbox: the key the path must name */
    XEN_KNOCK_BYTES, /* u8 n, n bytes: written as a knock, then read back */
    XEN_PARSERS
};

#endif
