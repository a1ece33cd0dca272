/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * What differs between the Open MPI release series idts builds against, in
 * one place: 4.1 (BTL API 3.1) and 5.0 (BTL API 3.3). configure accepts no
 * other (the loader does not check the BTL API, so it must be right here).
 *
 *                       4.1                        5.0
 *   mutex header        opal/threads/mutex.h       opal/mca/threads/mutex.h
 *   modex (PMIx)        opal/mca/pmix/pmix.h       opal/mca/pmix/pmix-internal.h
 *   modex scope         OPAL_PMIX_GLOBAL           PMIX_GLOBAL
 *   job size key, type  OPAL_PMIX_JOB_SIZE,        PMIX_JOB_SIZE,
 *                       OPAL_UINT32                PMIX_UINT32
 *   exported symbol     OPAL_MODULE_DECLSPEC       OPAL_DECLSPEC
 *   event loop header   opal/mca/event/event.h     opal/util/event.h
 *   receive callback    (btl, tag, descriptor,     (btl, receive descriptor
 *                        cbdata)                    carrying all of those)
 */
#ifndef MCA_BTL_IDTS_COMPAT_H
#define MCA_BTL_IDTS_COMPAT_H

#include "opal_config.h"

#if OPAL_MAJOR_VERSION >= 5
#include "opal/mca/pmix/pmix-internal.h"
#include "opal/mca/threads/mutex.h"
#include "opal/util/event.h"
#define MCA_BTL_IDTS_DECLSPEC     OPAL_DECLSPEC
#define MCA_BTL_IDTS_MODEX_GLOBAL PMIX_GLOBAL
#define MCA_BTL_IDTS_JOB_SIZE     PMIX_JOB_SIZE
#define MCA_BTL_IDTS_UINT32       PMIX_UINT32
#else
#include "opal/mca/event/event.h"
#include "opal/mca/pmix/pmix.h"
#include "opal/threads/mutex.h"
#define MCA_BTL_IDTS_DECLSPEC     OPAL_MODULE_DECLSPEC
#define MCA_BTL_IDTS_MODEX_GLOBAL OPAL_PMIX_GLOBAL
#define MCA_BTL_IDTS_JOB_SIZE     OPAL_PMIX_JOB_SIZE
#define MCA_BTL_IDTS_UINT32       OPAL_UINT32
#endif

#include "opal/mca/btl/btl.h"

#include <string.h>

/* Hand one received segment to the callback the PML registered for `tag`.
 * The segment is valid only during the call, in either series. */
static inline void mca_btl_idts_recv_callback(mca_btl_base_module_t *btl,
                                              struct mca_btl_base_endpoint_t *endpoint,
                                              mca_btl_base_tag_t tag,
                                              const mca_btl_active_message_callback_t *reg,
                                              const mca_btl_base_segment_t *segment)
{
#if BTL_VERSION >= 330
    const mca_btl_base_receive_descriptor_t descriptor = {
        .endpoint = endpoint,
        .des_segments = segment,
        .des_segment_count = 1,
        .tag = tag,
        .cbdata = reg->cbdata,
    };

    reg->cbfunc(btl, &descriptor);
#else
    mca_btl_base_descriptor_t descriptor;

    (void)endpoint;
    memset(&descriptor, 0, sizeof(descriptor));
    descriptor.des_segments = (mca_btl_base_segment_t *)segment;
    descriptor.des_segment_count = 1;
    reg->cbfunc(btl, tag, &descriptor, reg->cbdata);
#endif
}

#endif
