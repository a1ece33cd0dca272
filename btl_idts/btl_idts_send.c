/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Sending and receiving records: sendi packs straight into the ring, send
 * copies a descriptor in (or queues it while the ring is full), and progress
 * hands arriving records to the PML in place.
 */
#include "btl_idts.h"

#include "opal/datatype/opal_convertor.h"
#include "opal/util/output.h"

#include <errno.h>
#include <string.h>

static void count_sent(mca_btl_base_endpoint_t *endpoint, size_t bytes)
{
    endpoint->sent_records++;
    endpoint->sent_bytes += bytes;
    mca_btl_idts_not_idle();
}

/* Copy a frag into the ring; -EAGAIN when it does not fit now. The caller
 * wakes the peer (idts_tunnel_wake_consumer) once it has pushed what it had. */
static int push_frag(mca_btl_base_endpoint_t *endpoint, mca_btl_idts_frag_t *frag)
{
    uint32_t length = (uint32_t)frag->segment.seg_len;
    void *payload;
    int rc = idts_tunnel_reserve(&endpoint->tunnel, length, &payload);

    if (rc)
        return rc;
    memcpy(payload, frag->segment.seg_addr.pval, length);
    idts_tunnel_commit_quietly(&endpoint->tunnel, frag->tag, length);
    count_sent(endpoint, length);
    return 0;
}

/* btl_send returned OPAL_SUCCESS, so the callback is owed whatever the flags
 * say; the PML gets it from progress, never from inside btl_send. */
static void frag_sent(mca_btl_idts_frag_t *frag)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;

    if (frag->base.des_cbfunc)
        opal_list_append(&c->completed, (opal_list_item_t *)frag);
    else if (frag->base.des_flags & MCA_BTL_DES_FLAGS_BTL_OWNERSHIP)
        opal_free_list_return(&c->frags, (opal_free_list_item_t *)frag);
}

/* A tunnel error, in Open MPI's terms. A broken tunnel closes the endpoint,
 * which reports it once. Called with the lock held. */
int mca_btl_idts_send_error(mca_btl_base_endpoint_t *endpoint, int rc)
{
    if (rc == -EPIPE || rc == -ECONNRESET || rc == -EPROTO)
        mca_btl_idts_endpoint_refused(endpoint, rc);
    return rc == -EMSGSIZE ? OPAL_ERR_BAD_PARAM : OPAL_ERR_UNREACH;
}

static void append(mca_btl_base_endpoint_t *endpoint, mca_btl_idts_frag_t *frag)
{
    opal_list_append(&endpoint->pending, (opal_list_item_t *)frag);
    endpoint->pending_bytes += frag->segment.seg_len;
}

/* Before its tunnel opens, a peer may be computing for minutes: what is
 * sent to it until then is buffered, up to half a ring (all of it fits the
 * new ring at once), and reported sent at once, as a socket's buffer or
 * vader's FIFO would. The frag is copied, as the PML may reuse its own when
 * told it was sent. Behind a full ring of an open tunnel a frag counts as
 * sent only once it is in the ring. */
static void queue(mca_btl_base_endpoint_t *endpoint, mca_btl_idts_frag_t *frag)
{
    size_t length = frag->segment.seg_len;
    mca_btl_idts_frag_t *copy = NULL;

    if (endpoint->state != MCA_BTL_IDTS_OPEN && frag->base.des_cbfunc &&
        (frag->base.des_flags & MCA_BTL_DES_FLAGS_BTL_OWNERSHIP) &&
        endpoint->pending_bytes + length <= mca_btl_idts_component.ring_size / 2)
        copy = mca_btl_idts_frag_alloc(endpoint, length);
    if (!copy) {
        append(endpoint, frag);
        return;
    }
    memcpy(copy->segment.seg_addr.pval, frag->segment.seg_addr.pval, length);
    copy->tag = frag->tag;
    copy->base.des_flags = MCA_BTL_DES_FLAGS_BTL_OWNERSHIP;
    append(endpoint, copy);
    frag_sent(frag);
}

int mca_btl_idts_send_frag(mca_btl_base_endpoint_t *endpoint, mca_btl_idts_frag_t *frag)
{
    int rc = mca_btl_idts_endpoint_ready(endpoint);

    frag->endpoint = endpoint;
    /* Queued frags go first: records of one peer stay in order. */
    if (rc == 0 && opal_list_is_empty(&endpoint->pending))
        rc = push_frag(endpoint, frag);
    else if (rc == 0)
        rc = -EAGAIN;
    if (rc == 0) {
        idts_tunnel_wake_consumer(&endpoint->tunnel);
        frag_sent(frag);
    } else if (rc == -EAGAIN)
        queue(endpoint, frag);
    return rc == -EAGAIN ? 0 : rc;
}

int mca_btl_idts_send(mca_btl_base_module_t *btl, mca_btl_base_endpoint_t *endpoint,
                      mca_btl_base_descriptor_t *descriptor, mca_btl_base_tag_t tag)
{
    mca_btl_idts_frag_t *frag = (mca_btl_idts_frag_t *)descriptor;
    int rc;

    (void)btl;
    frag->tag = tag;
    OPAL_THREAD_LOCK(&mca_btl_idts_component.lock);
    rc = mca_btl_idts_send_frag(endpoint, frag);
    if (rc)
        rc = mca_btl_idts_send_error(endpoint, rc);
    OPAL_THREAD_UNLOCK(&mca_btl_idts_component.lock);
    return rc ? rc : OPAL_SUCCESS;
}

/* Pack the convertor's next `size` bytes at dest. Contiguous data is one
 * memcpy: the convertor's general machinery costs more than the copy of a
 * small message. The convertor is left where it was, which sendi may do. */
static void pack_inline(struct opal_convertor_t *convertor, void *dest, size_t size)
{
    struct iovec iov = {.iov_base = dest, .iov_len = size};
    uint32_t iov_count = 1;
    void *data;

    if (size == 0)
        return;
    if (opal_convertor_need_buffers(convertor)) {
        opal_convertor_pack(convertor, &iov, &iov_count, &size);
        return;
    }
    opal_convertor_get_current_pointer(convertor, &data);
    memcpy(dest, data, size);
}

int mca_btl_idts_sendi(mca_btl_base_module_t *btl, mca_btl_base_endpoint_t *endpoint,
                       struct opal_convertor_t *convertor, void *header, size_t header_size,
                       size_t payload_size, uint8_t order, uint32_t flags, mca_btl_base_tag_t tag,
                       mca_btl_base_descriptor_t **descriptor)
{
    uint32_t length = (uint32_t)(header_size + payload_size);
    void *payload;
    int rc;

    OPAL_THREAD_LOCK(&mca_btl_idts_component.lock);
    rc = mca_btl_idts_endpoint_ready(endpoint);
    /* Queued frags go first: records of one peer stay in order. */
    if (rc == 0 && !opal_list_is_empty(&endpoint->pending))
        rc = -EAGAIN;
    if (rc == 0)
        rc = idts_tunnel_reserve(&endpoint->tunnel, length, &payload);
    if (rc == 0) {
        memcpy(payload, header, header_size);
        pack_inline(convertor, (char *)payload + header_size, payload_size);
        idts_tunnel_commit(&endpoint->tunnel, tag, length);
        count_sent(endpoint, length);
    } else if (rc != -EAGAIN) {
        rc = mca_btl_idts_send_error(endpoint, rc);
    }
    OPAL_THREAD_UNLOCK(&mca_btl_idts_component.lock);
    if (rc == 0)
        return OPAL_SUCCESS;
    if (descriptor)
        *descriptor = NULL;
    if (rc != -EAGAIN)
        return rc;
    /* Offer a descriptor, which btl_send queues until the tunnel takes it.
     * Without one ob1 parks the request itself, and ob1 4.1 counts each
     * failed retry as a new parked request: its progress function would stay
     * registered, and be polled, for the rest of the job. */
    if (descriptor)
        *descriptor = mca_btl_idts_alloc(btl, endpoint, order, length, flags);
    return OPAL_ERR_OUT_OF_RESOURCE;
}

int mca_btl_idts_push_pending(mca_btl_base_endpoint_t *endpoint)
{
    mca_btl_idts_frag_t *frag;
    int rc = 0, pushed = 0;

    while ((frag = (mca_btl_idts_frag_t *)opal_list_get_first(&endpoint->pending)) !=
               (mca_btl_idts_frag_t *)opal_list_get_end(&endpoint->pending) &&
           (rc = push_frag(endpoint, frag)) == 0) {
        opal_list_remove_first(&endpoint->pending);
        endpoint->pending_bytes -= frag->segment.seg_len;
        frag_sent(frag);
        pushed++;
    }
    if (pushed)
        idts_tunnel_wake_consumer(&endpoint->tunnel);
    return rc == 0 || rc == -EAGAIN ? pushed : rc;
}

/* Hand one record to its owner: the PML, or our GET machinery. Returns
 * the bytes the PML got. */
static uint32_t deliver(mca_btl_base_endpoint_t *endpoint, const struct idts_record *record)
{
    const mca_btl_active_message_callback_t *reg;
    mca_btl_base_segment_t segment;

    endpoint->received_records++;
    endpoint->received_bytes += record->length;
    if (record->tag == MCA_BTL_IDTS_TAG_GET_REQUEST) {
        mca_btl_idts_get_request_arrived(endpoint, record);
        return 0;
    }
    if (record->tag == MCA_BTL_IDTS_TAG_GET_DATA) {
        mca_btl_idts_get_data_arrived(endpoint, record);
        return 0;
    }
    /* The table has MCA_BTL_TAG_MAX (255) entries: tag 255 has none. */
    reg = record->tag < MCA_BTL_TAG_MAX ? &mca_btl_base_active_message_trigger[record->tag] : NULL;
    if (record->tag < MCA_BTL_TAG_PML || !reg || !reg->cbfunc) {
        opal_output_verbose(1, opal_btl_base_framework.framework_output,
                            "btl:idts: dropped a record with unknown tag %u from %s", record->tag,
                            OPAL_NAME_PRINT(endpoint->proc->proc_name));
        return 0;
    }
    segment.seg_addr.pval = (void *)record->data;
    segment.seg_len = record->length;
    mca_btl_idts_recv_callback(&mca_btl_idts_module.super, endpoint, record->tag, reg, &segment);
    return record->length;
}

/* One call hands the PML 32 records or 16 KiB, whichever comes first. A
 * rank waiting for a window of messages sees them complete only between two
 * calls: what a call hands it beyond the window's last message is the
 * sender's next window, unexpected (ob1 copies it out of the ring, and again
 * into the receive once posted), and large ones keep that rank behind for
 * good: osu_bibw at 32 KiB ran at half speed in 8 runs out of 12. */
#define MCA_BTL_IDTS_RECEIVE_BATCH 32
#define MCA_BTL_IDTS_RECEIVE_BYTES 16384

int mca_btl_idts_progress_endpoint(mca_btl_base_endpoint_t *endpoint)
{
    struct idts_record record;
    uint32_t handed = 0;
    int count = 0, rc = 0;

    /* The inline look at the next header spares the call that would find the
     * end marker after the last record, on every message. */
    while (count < MCA_BTL_IDTS_RECEIVE_BATCH && handed < MCA_BTL_IDTS_RECEIVE_BYTES &&
           endpoint->state == MCA_BTL_IDTS_OPEN && !idts_tunnel_idle(&endpoint->tunnel) &&
           (rc = idts_tunnel_peek(&endpoint->tunnel, &record)) > 0) {
        handed += deliver(endpoint, &record);
        idts_tunnel_release_quietly(&endpoint->tunnel);
        count++;
    }
    if (count)
        idts_tunnel_wake_producer(&endpoint->tunnel);
    if (rc < 0 || endpoint->state != MCA_BTL_IDTS_OPEN) {
        if (rc < 0 && endpoint->state == MCA_BTL_IDTS_OPEN)
            mca_btl_idts_endpoint_closed(endpoint, rc);
        return count;
    }
    if (!opal_list_is_empty(&endpoint->pending)) {
        rc = mca_btl_idts_push_pending(endpoint);
        if (rc < 0) {
            mca_btl_idts_endpoint_closed(endpoint, rc);
            return count;
        }
        count += rc;
    }
    if (!opal_list_is_empty(&endpoint->serving))
        count += mca_btl_idts_serve_gets(endpoint);
    if (endpoint->creator && endpoint->sent_bytes + endpoint->received_bytes >= endpoint->grow_at)
        mca_btl_idts_endpoint_grow(endpoint);
    return count;
}

int mca_btl_idts_complete_sends(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    mca_btl_idts_frag_t *frag;
    int count = 0;

    while ((frag = (mca_btl_idts_frag_t *)opal_list_remove_first(&c->completed))) {
        frag->base.des_cbfunc(&mca_btl_idts_module.super, frag->endpoint, &frag->base,
                              OPAL_SUCCESS);
        if (frag->base.des_flags & MCA_BTL_DES_FLAGS_BTL_OWNERSHIP)
            opal_free_list_return(&c->frags, (opal_free_list_item_t *)frag);
        count++;
    }
    return count;
}
