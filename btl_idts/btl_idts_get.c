/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * btl_get over the tunnel. ob1's RGET protocol registers the sender's buffer
 * and the receiver calls btl_get: we send a GET_REQUEST naming the
 * registration, and the owner's progress streams the bytes in GET_DATA
 * records of up to get_chunk bytes. Several chunks fit in a ring, so the owner's
 * copy in and our copy out overlap. A peer may only read what was registered
 * for it: every request is checked against the registration table.
 */
#include "btl_idts.h"

#include "opal/util/output.h"

#include <errno.h>
#include <string.h>

struct region {
    uintptr_t base;
    size_t size;
    mca_btl_base_endpoint_t *endpoint; /* NULL: any peer */
};

struct get_op {
    mca_btl_base_endpoint_t *endpoint;
    uint8_t *local;
    uint64_t size, received;
    int token;
    struct mca_btl_base_registration_handle_t *local_handle;
    mca_btl_base_rdma_completion_fn_t cbfunc;
    void *cbcontext, *cbdata;
};

/* A request we are streaming; status != 0 means we refuse it. */
struct serve {
    opal_list_item_t super;
    uint32_t token;
    int32_t status;
    uint64_t registration; /* the one granted: the memory is read while it lasts */
    const uint8_t *address;
    uint64_t size, offset;
};
typedef struct serve serve_t;
static OBJ_CLASS_INSTANCE(serve_t, opal_list_item_t, NULL, NULL);

struct mca_btl_base_registration_handle_t *
mca_btl_idts_register_mem(mca_btl_base_module_t *btl, mca_btl_base_endpoint_t *endpoint, void *base,
                          size_t size, uint32_t flags)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    struct mca_btl_base_registration_handle_t *handle = malloc(sizeof(*handle));
    struct region *region = malloc(sizeof(*region));

    (void)btl;
    (void)flags;
    if (!handle || !region) {
        free(handle);
        free(region);
        return NULL;
    }
    region->base = (uintptr_t)base;
    region->size = size;
    region->endpoint = endpoint;
    OPAL_THREAD_LOCK(&c->lock);
    handle->id = ++c->next_registration;
    opal_hash_table_set_value_uint64(&c->registrations, handle->id, region);
    OPAL_THREAD_UNLOCK(&c->lock);
    return handle;
}

/* Deregistered memory may be freed at once (ob1 completes the send): what
 * is still being streamed from it stops where it stands, with a refusal,
 * so that the peer's get fails instead of reading on or waiting. */
static void stop_serving(uint64_t registration)
{
    mca_btl_base_endpoint_t *endpoint;
    serve_t *serve;

    OPAL_LIST_FOREACH(endpoint, &mca_btl_idts_component.endpoints, mca_btl_base_endpoint_t)
    {
        OPAL_LIST_FOREACH(serve, &endpoint->serving, serve_t)
        {
            if (serve->address && serve->registration == registration) {
                serve->status = OPAL_ERR_BAD_PARAM;
                serve->address = NULL;
                serve->size = serve->offset;
            }
        }
    }
}

int mca_btl_idts_deregister_mem(mca_btl_base_module_t *btl,
                                struct mca_btl_base_registration_handle_t *handle)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    struct region *region = NULL;

    (void)btl;
    OPAL_THREAD_LOCK(&c->lock);
    if (opal_hash_table_get_value_uint64(&c->registrations, handle->id, (void **)&region) ==
        OPAL_SUCCESS) {
        opal_hash_table_remove_value_uint64(&c->registrations, handle->id);
        free(region);
        stop_serving(handle->id);
    }
    OPAL_THREAD_UNLOCK(&c->lock);
    free(handle);
    return OPAL_SUCCESS;
}

int mca_btl_idts_get(mca_btl_base_module_t *btl, mca_btl_base_endpoint_t *endpoint,
                     void *local_address, uint64_t remote_address,
                     struct mca_btl_base_registration_handle_t *local_handle,
                     struct mca_btl_base_registration_handle_t *remote_handle, size_t size,
                     int flags, int order, mca_btl_base_rdma_completion_fn_t cbfunc,
                     void *cbcontext, void *cbdata)
{
    mca_btl_idts_frag_t *frag;
    mca_btl_idts_get_request_t request;
    struct get_op *op;
    int rc;

    (void)btl;
    (void)flags;
    (void)order;
    op = calloc(1, sizeof(*op));
    frag = mca_btl_idts_frag_alloc(endpoint, sizeof(request));
    if (!op || !frag) {
        free(op);
        if (frag)
            opal_free_list_return(&mca_btl_idts_component.frags, &frag->base.super);
        return OPAL_ERR_OUT_OF_RESOURCE;
    }
    *op = (struct get_op){.endpoint = endpoint,
                          .local = local_address,
                          .size = size,
                          .local_handle = local_handle,
                          .cbfunc = cbfunc,
                          .cbcontext = cbcontext,
                          .cbdata = cbdata};
    OPAL_THREAD_LOCK(&mca_btl_idts_component.lock);
    op->token = opal_pointer_array_add(&endpoint->gets, op);
    endpoint->gets_outstanding++;
    request = (mca_btl_idts_get_request_t){.token = (uint32_t)op->token,
                                           .handle = remote_handle ? remote_handle->id : 0,
                                           .address = remote_address,
                                           .size = size};
    memcpy(frag->segment.seg_addr.pval, &request, sizeof(request));
    frag->base.des_flags = MCA_BTL_DES_FLAGS_BTL_OWNERSHIP;
    frag->tag = MCA_BTL_IDTS_TAG_GET_REQUEST;
    rc = mca_btl_idts_send_frag(endpoint, frag);
    if (rc) {
        /* Failed here, the GET is not ours to complete: out of the table
         * before the endpoint closes and completes the others. */
        opal_pointer_array_set_item(&endpoint->gets, op->token, NULL);
        endpoint->gets_outstanding--;
        free(op);
        opal_free_list_return(&mca_btl_idts_component.frags, &frag->base.super);
        rc = mca_btl_idts_send_error(endpoint, rc);
    }
    OPAL_THREAD_UNLOCK(&mca_btl_idts_component.lock);
    return rc ? rc : OPAL_SUCCESS;
}

/* Does the registration `id` cover [address, address + size) for this peer? */
static const uint8_t *granted(mca_btl_base_endpoint_t *endpoint, uint64_t id, uint64_t address,
                              uint64_t size)
{
    struct region *region = NULL;

    if (opal_hash_table_get_value_uint64(&mca_btl_idts_component.registrations, id,
                                         (void **)&region) != OPAL_SUCCESS ||
        (region->endpoint && region->endpoint != endpoint) || address < region->base ||
        size > region->size || address - region->base > region->size - size)
        return NULL;
    return (const uint8_t *)(uintptr_t)address;
}

void mca_btl_idts_get_request_arrived(mca_btl_base_endpoint_t *endpoint,
                                      const struct idts_record *record)
{
    mca_btl_idts_get_request_t request;
    serve_t *serve;

    if (record->length != sizeof(request) ||
        opal_list_get_size(&endpoint->serving) >=
            opal_hash_table_get_size(&mca_btl_idts_component.registrations) +
                MCA_BTL_IDTS_SERVE_SLACK) {
        mca_btl_idts_endpoint_closed(endpoint, -EPROTO);
        return;
    }
    memcpy(&request, record->data, sizeof(request));
    serve = OBJ_NEW(serve_t);
    if (!serve) {
        mca_btl_idts_endpoint_closed(endpoint, -ENOMEM);
        return;
    }
    serve->token = request.token;
    serve->registration = request.handle;
    serve->address = granted(endpoint, request.handle, request.address, request.size);
    serve->size = serve->address ? request.size : 0;
    serve->status = serve->address ? 0 : OPAL_ERR_BAD_PARAM;
    serve->offset = 0;
    if (!serve->address)
        opal_output_verbose(1, opal_btl_base_framework.framework_output,
                            "btl:idts: %s asked for memory it was not given; refused",
                            OPAL_NAME_PRINT(endpoint->proc->proc_name));
    opal_list_append(&endpoint->serving, &serve->super);
}

/* Bytes of the request's next GET_DATA record after its header, for the
 * rings the tunnel has now (they may have grown since the last record). */
static uint32_t next_chunk(const mca_btl_base_endpoint_t *endpoint, const serve_t *serve)
{
    return mca_btl_idts_get_record_data(serve->size, serve->offset,
                                        mca_btl_idts_component.get_chunk,
                                        idts_tunnel_max_payload(&endpoint->tunnel));
}

uint32_t mca_btl_idts_next_get_record(mca_btl_base_endpoint_t *endpoint)
{
    const serve_t *serve = (const serve_t *)opal_list_get_first(&endpoint->serving);

    if (opal_list_is_empty(&endpoint->serving))
        return 0;
    return (uint32_t)sizeof(mca_btl_idts_get_data_t) + next_chunk(endpoint, serve);
}

/* Stream one request; 1 when all of it is in the ring, 0 when the ring is full. */
static int stream(mca_btl_base_endpoint_t *endpoint, serve_t *serve)
{
    do {
        uint32_t n = next_chunk(endpoint, serve);
        mca_btl_idts_get_data_t header = {serve->token, serve->status, serve->offset};
        void *payload;
        int rc = idts_tunnel_reserve(&endpoint->tunnel, sizeof(header) + n, &payload);

        if (rc == -EAGAIN)
            return 0;
        if (rc) {
            mca_btl_idts_endpoint_closed(endpoint, rc);
            return 0;
        }
        memcpy(payload, &header, sizeof(header));
        /* A refused request has no memory to copy from (address NULL). */
        if (n > 0)
            memcpy((uint8_t *)payload + sizeof(header), serve->address + serve->offset, n);
        idts_tunnel_commit_quietly(&endpoint->tunnel, MCA_BTL_IDTS_TAG_GET_DATA,
                                   (uint32_t)sizeof(header) + n);
        endpoint->sent_records++;
        endpoint->sent_bytes += sizeof(header) + n;
        serve->offset += n;
    } while (serve->offset < serve->size);
    return 1;
}

int mca_btl_idts_serve_gets(mca_btl_base_endpoint_t *endpoint)
{
    uint64_t sent = endpoint->sent_records;
    serve_t *serve;
    int count = 0;

    while ((serve = (serve_t *)opal_list_get_first(&endpoint->serving)) !=
               (serve_t *)opal_list_get_end(&endpoint->serving) &&
           endpoint->state == MCA_BTL_IDTS_OPEN && stream(endpoint, serve)) {
        opal_list_remove_first(&endpoint->serving);
        OBJ_RELEASE(serve);
        count++;
    }
    /* The records went out quietly: one look whether the peer sleeps. */
    if (endpoint->sent_records != sent)
        idts_tunnel_wake_consumer(&endpoint->tunnel);
    return count;
}

static void complete(struct get_op *op, int status)
{
    mca_btl_base_endpoint_t *endpoint = op->endpoint;

    opal_pointer_array_set_item(&endpoint->gets, op->token, NULL);
    endpoint->gets_outstanding--;
    op->cbfunc(&mca_btl_idts_module.super, endpoint, op->local, op->local_handle, op->cbcontext,
               op->cbdata, status);
    free(op);
}

void mca_btl_idts_get_data_arrived(mca_btl_base_endpoint_t *endpoint,
                                   const struct idts_record *record)
{
    mca_btl_idts_get_data_t header;
    struct get_op *op = NULL;
    uint64_t n;

    if (record->length >= sizeof(header)) {
        memcpy(&header, record->data, sizeof(header));
        op = opal_pointer_array_get_item(&endpoint->gets, (int)(header.token & INT32_MAX));
    }
    /* The owner streams in order: each chunk starts where the last ended. */
    n = op ? record->length - sizeof(header) : 0;
    if (!op || header.offset != op->received || n > op->size - op->received) {
        mca_btl_idts_endpoint_closed(endpoint, -EPROTO);
        return;
    }
    if (header.status) {
        complete(op, OPAL_ERR_BAD_PARAM);
        return;
    }
    memcpy(op->local + op->received, record->data + sizeof(header), n);
    op->received += n;
    if (op->received == op->size)
        complete(op, OPAL_SUCCESS);
}

void mca_btl_idts_fail_gets(mca_btl_base_endpoint_t *endpoint)
{
    opal_list_item_t *item;
    struct get_op *op;
    int i, size = opal_pointer_array_get_size(&endpoint->gets);

    for (i = 0; i < size && endpoint->gets_outstanding > 0; i++)
        if ((op = opal_pointer_array_get_item(&endpoint->gets, i)))
            complete(op, OPAL_ERR_UNREACH);
    while ((item = opal_list_remove_first(&endpoint->serving)))
        OBJ_RELEASE(item);
}
