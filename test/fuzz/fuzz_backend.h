/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * The platform under a tunnel, played by the fuzzer: a backend (the
 * interface of common/idts_backend.h) whose regions are heap blocks of
 * exactly their size, so that ASan sees any access outside them, and whose
 * answers (accept, map, wait, check, knocks) and the region a creator published
 * the harness sets from the input. It stands in for the system (memfds,
 * grants, sockets), never for idts: the tunnel and ring code is the real one.
 */
#ifndef IDTS_FUZZ_BACKEND_H
#define IDTS_FUZZ_BACKEND_H

#include "idts_abi.h"
#include "idts_backend.h"

#include <stdint.h>

#define FUZZ_KNOCKS_MAX 8

struct fuzz_platform {
    /* map(): its answer (0: map), then the region it maps: a control page
     * as the creator wrote it and data_size bytes of `fill`. */
    int map_rc;
    _Alignas(IDTS_CACHELINE) uint8_t offer_ctrl[IDTS_CTRL_SIZE];
    size_t offer_data_size;
    uint8_t offer_fill;
    int accept_rc, wait_rc, check_rc, knock_rc;
    /* knocked(): these messages one after the other, then -EAGAIN. */
    uint8_t knock[FUZZ_KNOCKS_MAX][16];
    size_t knock_length[FUZZ_KNOCKS_MAX];
    unsigned knocks, knocks_taken;
    /* What the ends did: the link last shared or mapped, notifications;
     * whether an answer said the other end is gone (-EPIPE). */
    struct idts_link *link;
    unsigned notified;
    int said_gone;
    char mapped_key[IDTS_KEY_MAX]; /* the one key map() answers */
};

/* Open *be as this platform's backend, "fuzz" for host and instance. */
void fuzz_backend_open(struct idts_backend *be, struct fuzz_platform *platform);

/* Make the offer an honest creator's, with rings of ring_size bytes: its
 * control page and data size (the caller writes the data's end markers). */
void fuzz_platform_offer(struct fuzz_platform *platform, struct idts_backend *be,
                         uint32_t ring_size);

#endif
