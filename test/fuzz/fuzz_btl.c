/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Fuzz target "btl": the component's handling of what a peer sends it
 * (btl_idts/): records for the PML, GET_REQUESTs checked against the
 * registration table, GET_DATA answering our gets, knocks. The component is
 * the real one, in a process of Open MPI's own (libopen-pal after
 * opal_init_util), with one endpoint whose tunnel runs over the fuzz
 * platform; the input plays the peer (fuzz_peer.h) and our side's
 * registrations and gets.
 *
 * Besides the sanitizers' findings: the PML gets records inside the ring;
 * the peer gets memory registered for it and nothing else, as it is; a get
 * completes once, with what the peer sent; and the endpoint fails only when
 * the peer did what an honest one does not.
 */
#include "btl_idts.h"

#include "fuzz_backend.h"
#include "fuzz_peer.h"
#include "opal/runtime/opal.h"
#include "opal/util/show_help.h"

#include <errno.h>
#include <stdarg.h>

#define REGISTRATIONS 8
#define GETS          8
#define REQUESTS      96 /* past MCA_BTL_IDTS_SERVE_SLACK, for floods */
#define PML_TAGS      16 /* the tags the PML listens on, from MCA_BTL_TAG_PML */
#define JOB           1u

/* Memory we registered, and the bytes it must keep holding. */
struct registration {
    struct mca_btl_base_registration_handle_t *handle;
    uint8_t *base, *copy;
    size_t size;
    mca_btl_base_endpoint_t *endpoint;
};

/* A get we asked of the peer: the peer's answers so far, its completion. */
struct get {
    uint8_t *local;
    struct mca_btl_base_registration_handle_t remote;
    uint64_t address, size, answered;
    uint32_t token;
    int asked, completions, status;
};

/* A GET_REQUEST the peer sent, and what must come back. */
struct request {
    uint32_t token;
    int granted, ambiguous;
    const struct registration *reg; /* granted: deregistered since, it may be refused */
    const uint8_t *expected;        /* the registration's copy at the address asked */
    uint64_t size, streamed;
};

static struct harness {
    struct fuzz_platform platform;
    struct fuzz_peer peer;
    mca_btl_base_endpoint_t *endpoint;
    opal_proc_t peer_proc;
    struct registration reg[REGISTRATIONS];
    struct get get[GETS];
    struct request request[REQUESTS];
    unsigned regs, gets, gets_asked, requests;
    size_t most_regions; /* registered at once, at the most */
    int misbehaved;      /* the peer did what an honest one does not */
} h;

static int another_endpoint; /* its address stands for an endpoint not ours */

static mca_btl_idts_component_t *const c = &mca_btl_idts_component;
static mca_btl_base_module_t *const btl = &mca_btl_idts_module.super;

static uint8_t *peer_live(void)
{
    struct idts_ctrl *ctrl = h.endpoint->tunnel.link.ctrl;

    return h.endpoint->creator ? &ctrl->attacher_live : &ctrl->creator_live;
}

static void progress(void)
{
    c->super.btl_progress();
}

/* The bytes the peer sends for get i, from offset 0 (to the largest get,
 * UINT16_MAX), and those of our registration i. */
static const uint8_t *content(unsigned i)
{
    return fuzz_pattern(i);
}

/* The help text is formatted for real, from btl_idts/help-btl-idts.txt, but
 * not printed: every failure the input provokes would print a page. */
static int quiet_help(const char *filename, const char *topic, int want_error_header, ...)
{
    va_list ap;
    char *text;

    va_start(ap, want_error_header);
    text = opal_show_help_vstring(filename, topic, want_error_header, ap);
    va_end(ap);
    fuzz_check(text && !strstr(text, "Sorry!"), "no help topic \"%s\" in %s", topic, filename);
    free(text);
    return OPAL_SUCCESS;
}

/* Open MPI knows no process but ours and the peer, which has an endpoint. */
static opal_proc_t *no_such_proc(opal_process_name_t name)
{
    (void)name;
    return NULL;
}

#if OPAL_MAJOR_VERSION >= 5
/* What MPI_Init sets up: the table of the jobs PMIx knows, none here. */
static void no_jobs(void)
{
    opal_pmix_setup_nspace_tracker();
}
#else
/* What MPI_Init sets up: a PMIx that knows nothing. */
static int no_such_value(const opal_process_name_t *proc, const char *key, opal_list_t *info,
                         opal_value_t **value)
{
    (void)proc, (void)key, (void)info;
    *value = NULL;
    return OPAL_ERR_NOT_FOUND;
}

static void no_jobs(void)
{
    opal_pmix.get = no_such_value;
}
#endif

static void endpoint_failed(mca_btl_base_module_t *module, int32_t flags, opal_proc_t *proc,
                            char *info)
{
    (void)module, (void)flags, (void)info;
    fuzz_check(proc == &h.peer_proc, "an error for another process");
    fuzz_check(h.misbehaved || *peer_live() != IDTS_END_LIVE || h.platform.said_gone,
               "the endpoint failed with an honest peer");
}

/* The PML's receive callback, as Open MPI's series calls it (btl_idts_compat.h). */
static void received(mca_btl_base_module_t *module, mca_btl_base_tag_t tag,
                     const mca_btl_base_segment_t *segment, size_t segments, void *cbdata)
{
    struct idts_record record = {.data = segment->seg_addr.pval,
                                 .length = (uint32_t)segment->seg_len,
                                 .type = IDTS_RECORD_DATA,
                                 .tag = tag};

    fuzz_check(module == btl && cbdata == &h && segments == 1 && segment->seg_len <= UINT32_MAX,
               "a descriptor for tag %u that is not the record's", tag);
    fuzz_check(h.endpoint->state == MCA_BTL_IDTS_OPEN, "a record from a closed endpoint");
    fuzz_check_received(&h.peer, &record);
    /* The peer fills a PML record with its tag (pml_record()): every byte
     * is the tag if the first is and each is the next. */
    fuzz_check(
        h.peer.to_us.tainted || record.length == 0 ||
            (record.data[0] == tag && memcmp(record.data, record.data + 1, record.length - 1) == 0),
        "a record of tag %u with other bytes", tag);
}

#if BTL_VERSION >= 330
static void pml_received(mca_btl_base_module_t *module,
                         const mca_btl_base_receive_descriptor_t *descriptor)
{
    fuzz_check(descriptor->endpoint == h.endpoint, "a descriptor for another endpoint");
    received(module, descriptor->tag, descriptor->des_segments, descriptor->des_segment_count,
             descriptor->cbdata);
}
#else
static void pml_received(mca_btl_base_module_t *module, mca_btl_base_tag_t tag,
                         mca_btl_base_descriptor_t *descriptor, void *cbdata)
{
    received(module, tag, descriptor->des_segments, descriptor->des_segment_count, cbdata);
}
#endif

static void get_done(mca_btl_base_module_t *module, mca_btl_base_endpoint_t *endpoint, void *local,
                     struct mca_btl_base_registration_handle_t *local_handle, void *context,
                     void *cbdata, int status)
{
    struct get *g = cbdata;
    unsigned i = (unsigned)(g - h.get);

    fuzz_check(module == btl && endpoint == h.endpoint && local == g->local && !local_handle &&
                   context == &h,
               "get %u completed with other arguments", i);
    fuzz_check(++g->completions == 1, "get %u completed twice", i);
    g->status = status;
    /* A peer that lied about tokens or offsets may have filled any get. */
    if (status != OPAL_SUCCESS || h.misbehaved)
        return;
    fuzz_check(g->answered == g->size, "get %u done with %llu of %llu bytes", i,
               (unsigned long long)g->answered, (unsigned long long)g->size);
    fuzz_check(memcmp(g->local, content(i), g->size) == 0, "get %u: bytes that are not the peer's",
               i);
}

/* Our GET_REQUEST, as the peer receives it: the get we made next. */
static void request_seen(const struct idts_record *record)
{
    struct get *g = &h.get[h.gets_asked];
    mca_btl_idts_get_request_t request;

    fuzz_check(h.gets_asked < h.gets && record->length == sizeof(request),
               "a GET_REQUEST of %u bytes for no get", record->length);
    memcpy(&request, record->data, sizeof(request));
    fuzz_check(request.handle == g->remote.id && request.address == g->address &&
                   request.size == g->size,
               "get %u asked for other memory", h.gets_asked);
    g->token = request.token;
    g->asked = 1;
    h.gets_asked++;
}

static struct request *request_of(uint32_t token)
{
    unsigned i;

    for (i = 0; i < h.requests; i++)
        if (h.request[i].token == token)
            return h.request[i].ambiguous ? NULL : &h.request[i];
    return NULL;
}

/* A GET_DATA streaming what the peer asked for: what it may read, in order. */
static void data_seen(const struct idts_record *record)
{
    mca_btl_idts_get_data_t header;
    struct request *r;
    uint64_t n;

    fuzz_check(record->length >= sizeof(header), "a GET_DATA of %u bytes", record->length);
    memcpy(&header, record->data, sizeof(header));
    n = record->length - sizeof(header);
    r = request_of(header.token);
    if (!r)
        return;
    fuzz_check((header.status == 0) == r->granted || (r->granted && !r->reg->handle),
               "request %u: status %d, but it was %s memory registered for it", header.token,
               header.status, r->granted ? "for" : "not for");
    if (header.status != 0)
        r->size = 0;
    fuzz_check(header.offset == r->streamed && n <= r->size - r->streamed,
               "request %u: %llu bytes at %llu, %llu of %llu sent", header.token,
               (unsigned long long)n, (unsigned long long)header.offset,
               (unsigned long long)r->streamed, (unsigned long long)r->size);
    fuzz_check(!n || memcmp(record->data + sizeof(header), r->expected + r->streamed, n) == 0,
               "request %u: bytes that are not the registered memory's", header.token);
    r->streamed += n;
}

/* What the component sends the peer: our requests and its answers. */
static void peer_received(const struct idts_record *record)
{
    /* Garbage in either ring: what we read is not what the peer meant to
     * send, or what it reads not what we sent. */
    if (h.peer.to_us.tainted || h.peer.to_peer.tainted)
        return;
    if (record->tag == MCA_BTL_IDTS_TAG_GET_REQUEST)
        request_seen(record);
    else if (record->tag == MCA_BTL_IDTS_TAG_GET_DATA)
        data_seen(record);
    else
        fuzz_check(0, "the component sent a record with tag %u", record->tag);
}

/* The peer sends a record of its own making, if there is room. */
static int peer_sends(uint8_t tag, const void *payload, uint32_t length)
{
    void *at;

    if (idts_ring_reserve(&h.peer.out, length, &at) != 0)
        return 0;
    memcpy(at, payload, length);
    idts_ring_commit(&h.peer.out, IDTS_RECORD_DATA, tag, length);
    return 1;
}

/* A record for the PML; any tag under the PML's is not the peer's to use. */
static void pml_record(struct fuzz_input *in)
{
    static uint8_t payload[UINT16_MAX];
    uint32_t length = fuzz_u16(in);
    uint8_t tag = fuzz_u8(in);

    h.misbehaved |= tag < MCA_BTL_TAG_PML;
    memset(payload, tag, length);
    peer_sends(tag, payload, length);
}

static int granted(const struct registration *r, uint64_t id, uint64_t address, uint64_t size)
{
    uintptr_t base = (uintptr_t)r->base;

    return r->handle && r->handle->id == id && (r->endpoint == NULL || r->endpoint == h.endpoint) &&
           address >= base && size <= r->size && address - base <= r->size - size;
}

#define REQUEST_RAW_TOKEN  0x01u
#define REQUEST_RAW_HANDLE 0x02u
#define REQUEST_RAW_RANGE  0x04u
#define REQUEST_RAW_LENGTH 0x08u

static unsigned live_registrations(void)
{
    unsigned i, n = 0;

    for (i = 0; i < h.regs; i++)
        n += h.reg[i].handle != NULL;
    return n;
}

/* The peer asks for memory: one of our registrations, near it, or any. */
static void get_request(struct fuzz_input *in)
{
    uint8_t flags = fuzz_u8(in);
    uint32_t token = fuzz_u32(in), length = sizeof(mca_btl_idts_get_request_t);
    const struct registration *r = &h.reg[fuzz_u8(in) % REGISTRATIONS];
    uint64_t id = fuzz_u64(in), address = fuzz_u64(in), size = fuzz_u64(in);
    mca_btl_idts_get_request_t request;
    struct request *seen, *next;

    if (!(flags & REQUEST_RAW_TOKEN))
        token = h.requests;
    if (!(flags & REQUEST_RAW_HANDLE))
        id = r->handle ? r->handle->id : 0;
    if (!(flags & REQUEST_RAW_RANGE)) {
        address = (uintptr_t)r->base + (uint64_t)(int64_t)(int16_t)address;
        size = r->size + (uint64_t)(int64_t)(int16_t)size;
    }
    if (flags & REQUEST_RAW_LENGTH)
        length = fuzz_u8(in);
    h.misbehaved |=
        length != sizeof(request) || h.requests >= live_registrations() + MCA_BTL_IDTS_SERVE_SLACK;
    request = (mca_btl_idts_get_request_t){
        .token = token, .handle = id, .address = address, .size = size};
    /* Only requests it can follow; each one sent is followed. */
    if (h.requests == REQUESTS ||
        !peer_sends(MCA_BTL_IDTS_TAG_GET_REQUEST, &request,
                    length < sizeof(request) ? length : (uint32_t)sizeof(request)))
        return;
    seen = request_of(token);
    if (seen)
        seen->ambiguous = 1;
    next = &h.request[h.requests++];
    *next = (struct request){.token = token, .ambiguous = seen != NULL};
    if (granted(r, id, address, size)) {
        next->granted = 1;
        next->reg = r;
        next->expected = r->copy + (address - (uintptr_t)r->base);
        next->size = size;
    }
}

#define DATA_RAW_TOKEN 0x01u

/* The peer answers one of our gets, or pretends to. */
static void get_data(struct fuzz_input *in)
{
    static uint8_t payload[UINT16_MAX + sizeof(mca_btl_idts_get_data_t)];
    unsigned i = h.gets ? fuzz_u8(in) % h.gets : 0;
    struct get *g = &h.get[i];
    uint8_t flags = fuzz_u8(in);
    uint32_t token = fuzz_u32(in), length = fuzz_u16(in);
    int32_t status = (int32_t)fuzz_u32(in), delta = (int32_t)fuzz_u32(in);
    mca_btl_idts_get_data_t header = {.token = flags & DATA_RAW_TOKEN ? token : g->token,
                                      .status = status,
                                      .offset = g->answered + (uint64_t)(int64_t)delta};

    if (!h.gets)
        return;
    h.misbehaved |= !g->asked || flags & DATA_RAW_TOKEN || delta != 0 || g->completions ||
                    status != 0 || length > g->size - g->answered;
    memcpy(payload, &header, sizeof(header));
    /* What the get asked for; past it, whatever the pattern goes on with. */
    memcpy(payload + sizeof(header), content(i) + (header.offset & UINT16_MAX), length);
    if (peer_sends(MCA_BTL_IDTS_TAG_GET_DATA, payload, (uint32_t)sizeof(header) + length) &&
        header.offset == g->answered)
        g->answered += length;
}

/* Our side registers memory for this peer, for any, or for another. */
static void register_memory(struct fuzz_input *in)
{
    size_t size = fuzz_u16(in);
    uint8_t whose = fuzz_u8(in) % 3;
    struct registration *r = &h.reg[h.regs];

    if (h.regs == REGISTRATIONS)
        return;
    h.regs++;
    r->size = size;
    r->base = malloc(size ? size : 1);
    r->copy = malloc(size ? size : 1);
    fuzz_check(r->base && r->copy, "out of memory");
    memcpy(r->base, content(h.regs + GETS), size);
    memcpy(r->copy, r->base, size);
    r->endpoint = whose == 0   ? h.endpoint
                  : whose == 1 ? NULL
                               : (mca_btl_base_endpoint_t *)&another_endpoint;
    r->handle = mca_btl_idts_register_mem(btl, r->endpoint, r->base, size, 0);
    fuzz_check(r->handle, "registration failed");
}

/* Our side is done with a registration (ob1: the send completed) and frees
 * the memory; whatever the peer asked before, it gets no more of it. */
static void deregister_memory(struct registration *r)
{
    if (!r->handle)
        return;
    mca_btl_idts_deregister_mem(btl, r->handle);
    r->handle = NULL;
    free(r->base);
    r->base = NULL;
}

/* Our side asks the peer for its memory. */
static void get_memory(struct fuzz_input *in)
{
    struct get *g = &h.get[h.gets];
    uint64_t id = fuzz_u64(in), address = fuzz_u64(in), size = fuzz_u16(in);
    int rc;

    if (h.gets == GETS)
        return;
    *g = (struct get){
        .local = malloc(size ? size : 1), .remote = {id}, .address = address, .size = size};
    fuzz_check(g->local, "out of memory");
    rc = mca_btl_idts_get(btl, h.endpoint, g->local, address, NULL, &g->remote, size, 0, 0,
                          get_done, &h, g);
    if (rc != OPAL_SUCCESS) {
        free(g->local);
        return;
    }
    h.gets++;
}

/* A knock from the peer, from a process Open MPI does not know, or junk. */
static void knock(struct fuzz_input *in)
{
    struct fuzz_platform *p = &h.platform;
    uint8_t kind = fuzz_u8(in);
    mca_btl_idts_knock_t msg = {MCA_BTL_IDTS_KNOCK_MAGIC, JOB, h.peer_proc.proc_name.vpid};
    size_t length = sizeof(msg);

    if (kind & 1) {
        msg.jobid = fuzz_u32(in);
        msg.vpid = fuzz_u32(in);
    }
    if (kind & 2)
        msg.magic = fuzz_u32(in);
    if (kind & 4)
        length = fuzz_u8(in) % sizeof(p->knock[0]);
    if (p->knocks == FUZZ_KNOCKS_MAX)
        return;
    memset(p->knock[p->knocks], 0, sizeof(p->knock[0]));
    memcpy(p->knock[p->knocks], &msg, length < sizeof(msg) ? length : sizeof(msg));
    p->knock_length[p->knocks++] = length;
    progress();
}

/* The rings of the tunnel as the peer sees them; ours are the endpoint's. */
static void peer_init(void)
{
    struct idts_tunnel *t = &h.endpoint->tunnel;
    struct idts_ctrl *ctrl = t->link.ctrl;
    uint8_t *data = t->link.data;
    int in = t->role == IDTS_TUNNEL_CREATOR;

    fuzz_peer_init(&h.peer, &ctrl->ring[in], data + (size_t)in * t->rx.size, &ctrl->ring[!in],
                   data + (size_t)!in * t->rx.size, t->rx.size, 0, 0);
    h.peer.our_rx = &t->rx;
    h.peer.our_tx = &t->tx;
    h.peer.to_us.untracked = h.peer.to_peer.untracked = 1;
    h.peer.received = peer_received;
    fuzz_peer_add_area(&h.peer, ctrl, IDTS_CTRL_SIZE);
    fuzz_peer_add_area(&h.peer, data, t->link.data_size);
}

#define SETUP_CREATOR 0x01u /* the peer's name sorts after ours: we create */
#define SETUP_KNOCKED 0x02u /* the peer knocks first */

/* An endpoint as add_procs makes it, connected the way the input says. */
static void connect_endpoint(struct fuzz_input *in)
{
    uint8_t setup = fuzz_u8(in);
    uint32_t ring_size = IDTS_RING_MIN_SIZE << (setup >> 2) % 3;
    uint32_t max = idts_ring_max_payload(ring_size), chunk = fuzz_u16(in);
    char instance[IDTS_ID_MAX] = "fuzz";

    memset(&h.platform, 0, sizeof(h.platform));
    fuzz_backend_open(&c->backend, &h.platform);
    c->ring_size = ring_size;
    c->fragment_ring = ring_size;
    btl->btl_max_send_size = max & ~(IDTS_RECORD_ALIGN - 1);
    if (btl->btl_max_send_size > MCA_BTL_IDTS_FRAGMENT_SIZE)
        btl->btl_max_send_size = MCA_BTL_IDTS_FRAGMENT_SIZE;
    c->get_chunk = chunk; /* 0, within the ring's records or beyond them */
    h.peer_proc.proc_name = (opal_process_name_t){JOB, setup & SETUP_CREATOR ? 2 : 0};
    if (!(setup & SETUP_CREATOR))
        fuzz_platform_offer(&h.platform, &c->backend, ring_size);
    h.endpoint = mca_btl_idts_endpoint_create(&h.peer_proc, instance);
    fuzz_check(h.endpoint, "no endpoint");
    if (setup & SETUP_KNOCKED) {
        h.platform.knock_length[0] = sizeof(mca_btl_idts_knock_t);
        memcpy(h.platform.knock[0],
               &(mca_btl_idts_knock_t){MCA_BTL_IDTS_KNOCK_MAGIC, JOB, h.peer_proc.proc_name.vpid},
               sizeof(mca_btl_idts_knock_t));
        h.platform.knocks = 1;
        progress();
    } else {
        mca_btl_idts_endpoint_ready(h.endpoint);
    }
    fuzz_check(h.endpoint->state != MCA_BTL_IDTS_IDLE && h.endpoint->tunnel.link.ctrl,
               "no tunnel under way (state %d)", h.endpoint->state);
    *peer_live() = IDTS_END_LIVE;
    progress();
    fuzz_check(h.endpoint->state == MCA_BTL_IDTS_OPEN, "an honest peer, but state %d",
               h.endpoint->state);
}

/* However a peer floods us with requests, those waiting stay bounded: by
 * the regions registered when they came (one deregistered since still has
 * its refusal to wait for). */
static void check_serving(void)
{
    size_t waiting = opal_list_get_size(&h.endpoint->serving);
    size_t regions = opal_hash_table_get_size(&mca_btl_idts_component.registrations);

    if (regions > h.most_regions)
        h.most_regions = regions;
    fuzz_check(waiting <= h.most_regions + MCA_BTL_IDTS_SERVE_SLACK,
               "%zu requests waiting, more than %zu", waiting,
               h.most_regions + MCA_BTL_IDTS_SERVE_SLACK);
}

static void run(unsigned op, struct fuzz_input *in)
{
    check_serving();
    switch (op) {
    case PEER_SEND:
        pml_record(in);
        break;
    case PEER_POKE:
    case PEER_HEADER:
    case PEER_CONS:
        h.misbehaved = 1;
        fuzz_peer_run(&h.peer, op, in);
        break;
    case BTL_PROGRESS:
        progress();
        break;
    case BTL_GET_REQUEST:
        get_request(in);
        break;
    case BTL_GET_DATA:
        get_data(in);
        break;
    case BTL_REGISTER:
        register_memory(in);
        break;
    case BTL_DEREGISTER:
        deregister_memory(&h.reg[fuzz_u8(in) % REGISTRATIONS]);
        break;
    case BTL_GET:
        get_memory(in);
        break;
    case BTL_KNOCK:
        knock(in);
        break;
    default:
        fuzz_peer_run(&h.peer, op, in);
    }
}

/* With no endpoint left, every descriptor is back in the component's free
 * list: count them out of it and back. */
static void check_frags_idle(void)
{
    opal_list_t out;
    opal_list_item_t *item;
    size_t n = 0;

    OBJ_CONSTRUCT(&out, opal_list_t);
    while ((item = opal_lifo_pop_st(&c->frags.super))) {
        opal_list_append(&out, item);
        n++;
    }
    while ((item = opal_list_remove_first(&out)))
        opal_lifo_push_st(&c->frags.super, item);
    OBJ_DESTRUCT(&out);
    fuzz_check(n == c->frags.fl_num_allocated, "%zu of %zu descriptors are lost",
               c->frags.fl_num_allocated - n, c->frags.fl_num_allocated);
}

/* del_procs: the endpoint goes, and every get still out completes. The
 * peer has left first: what the endpoint still owes it is not waited for. */
static void tear_down(void)
{
    unsigned i;

    h.platform.check_rc = -EPIPE;
    mca_btl_idts_endpoint_destroy(h.endpoint);
    check_frags_idle();
    for (i = 0; i < h.gets; i++) {
        fuzz_check(h.get[i].completions == 1, "get %u completed %d times", i, h.get[i].completions);
        free(h.get[i].local);
    }
    for (i = 0; i < h.regs; i++) {
        deregister_memory(&h.reg[i]);
        free(h.reg[i].copy);
    }
    /* The table is empty: the next input numbers registrations from 1 again. */
    c->next_registration = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    opal_process_name_t me = {JOB, 1};
    int tag;

    /* Open MPI's handlers of SIGABRT and SIGSEGV would pre-empt the
     * fuzzer's, which keeps the input that crashed. */
    setenv("OMPI_MCA_opal_signal", "", 1);
    fuzz_check(opal_init_util(argc, argv) == OPAL_SUCCESS, "opal_init_util failed");
    opal_show_help = quiet_help;
    opal_proc_for_name = no_such_proc;
    no_jobs();
    opal_proc_set_name(&me);
    /* The btl framework's variables exist in a job: its memory is as it is
     * there (no component is loaded for it). */
    fuzz_check(mca_base_framework_register(&opal_btl_base_framework,
                                           MCA_BASE_REGISTER_STATIC_ONLY) == OPAL_SUCCESS,
               "the btl framework does not register");
    fuzz_check(c->super.btl_version.mca_register_component_params() == OPAL_SUCCESS &&
                   c->super.btl_version.mca_open_component() == OPAL_SUCCESS &&
                   mca_btl_idts_module_setup(&mca_btl_idts_module) == OPAL_SUCCESS,
               "the component does not open");
    btl->btl_register_error(btl, endpoint_failed);
    c->poll_interval = c->poll_countdown = 1;
    c->knock_period_us = 0;
    for (tag = MCA_BTL_TAG_PML; tag < MCA_BTL_TAG_PML + PML_TAGS; tag++)
        mca_btl_base_active_message_trigger[tag] =
            (mca_btl_active_message_callback_t){pml_received, &h};
    OBJ_CONSTRUCT(&h.peer_proc, opal_proc_t);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};

    memset(&h.reg, 0, sizeof(h.reg));
    h.regs = h.gets = h.gets_asked = h.requests = 0;
    h.most_regions = 0;
    h.misbehaved = 0;
    connect_endpoint(&in);
    peer_init();
    while (fuzz_more(&in))
        run(fuzz_u8(&in) % BTL_OPS, &in);
    tear_down();
    return 0;
}
