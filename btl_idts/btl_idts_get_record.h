/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * The records of idts's GET protocol (btl_idts_get.c) and how much of a
 * message one GET_DATA record carries. Free of Open MPI headers, so that the
 * stress test's ring model (test/mpi/mpi_stress_wraps.c) sizes its records
 * with the very rule the BTL uses.
 */
#ifndef MCA_BTL_IDTS_GET_RECORD_H
#define MCA_BTL_IDTS_GET_RECORD_H

#include "idts_abi.h"

#include <stdint.h>

/* GET_REQUEST payload: the receiver asks for [address, address + size). */
struct mca_btl_idts_get_request_t {
    uint32_t token; /* the asker's, echoed in every GET_DATA */
    uint32_t reserved;
    uint64_t handle; /* the owner's registration */
    uint64_t address;
    uint64_t size;
};
typedef struct mca_btl_idts_get_request_t mca_btl_idts_get_request_t;

/* GET_DATA payload header; the data follows. status != 0: refused. */
struct mca_btl_idts_get_data_t {
    uint32_t token;
    int32_t status;
    uint64_t offset;
};
typedef struct mca_btl_idts_get_data_t mca_btl_idts_get_data_t;

/*
 * Data bytes of the GET_DATA record at offset of a size-byte message:
 * chunk bytes (btl_idts_get_chunk; 0: as much as a record holds), never more
 * than a record of rings whose records hold ring_payload bytes carries, and
 * at most half the message, so that the receiver copies out the first half
 * while the owner copies in the second.
 */
static inline uint32_t mca_btl_idts_get_record_data(uint64_t size, uint64_t offset, uint32_t chunk,
                                                    uint32_t ring_payload)
{
    const uint64_t align = IDTS_RECORD_ALIGN - 1;
    uint64_t most = (ring_payload - (uint64_t)sizeof(mca_btl_idts_get_data_t)) & ~align;
    uint64_t half = ((size + 1) / 2 + align) & ~align;
    uint64_t step = chunk == 0 || chunk > most ? most : chunk;

    if (half < step)
        step = half;
    return (uint32_t)(size - offset < step ? size - offset : step);
}

#endif
