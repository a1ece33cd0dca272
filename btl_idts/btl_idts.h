/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * The idts BTL: Open MPI's point-to-point transport over idts tunnels.
 *
 * This component is glue. A tunnel (common/idts_tunnel.h) carries records
 * whose tag is the BTL tag, so an eager message is one record holding the
 * PML's header and payload. Large messages use ob1's RGET protocol over an
 * emulated btl_get: the receiver asks for a registered region with a
 * GET_REQUEST record and the owner streams it back in GET_DATA records, so
 * both copies overlap and the same path works between VMs, where no
 * single-copy mechanism reaches the peer's memory.
 */
#ifndef MCA_BTL_IDTS_H
#define MCA_BTL_IDTS_H

#include "btl_idts_compat.h"
#include "btl_idts_get_record.h"

#include "opal/class/opal_free_list.h"
#include "opal/class/opal_hash_table.h"
#include "opal/class/opal_list.h"
#include "opal/class/opal_pointer_array.h"
#include "opal/mca/btl/base/base.h"
#include "opal/mca/btl/btl.h"
#include "opal/runtime/opal_progress.h"
#include "opal/util/proc.h"

#include "idts_tunnel.h"

BEGIN_C_DECLS

/* Tags of the component's own records; the PML's start at MCA_BTL_TAG_PML.
 * They only ever travel on idts tunnels, so they cannot meet another BTL's. */
#define MCA_BTL_IDTS_TAG_GET_REQUEST (MCA_BTL_TAG_BTL + 0)
#define MCA_BTL_IDTS_TAG_GET_DATA    (MCA_BTL_TAG_BTL + 1)

/* What a peer needs to know to reach us, published through the modex. */
struct mca_btl_idts_modex_t {
    char backend[16];
    char host[IDTS_ID_MAX];
    char instance[IDTS_ID_MAX];
    char node[IDTS_ID_MAX]; /* Open MPI's name of our node */
    uint64_t limit_pages;   /* what our instance may share in all (0: no fixed limit) */
};
typedef struct mca_btl_idts_modex_t mca_btl_idts_modex_t;

/* A knock: "I want the tunnel between us". */
struct mca_btl_idts_knock_t {
    uint32_t magic;
    uint32_t jobid;
    uint32_t vpid;
};
typedef struct mca_btl_idts_knock_t mca_btl_idts_knock_t;
/* How many knocks of jobs not known yet are kept, the oldest dropped. */
#define MCA_BTL_IDTS_HELD_KNOCKS 16
#define MCA_BTL_IDTS_KNOCK_MAGIC 0x4b4e4f43u

struct mca_btl_base_registration_handle_t {
    uint64_t id;
};

struct mca_btl_idts_component_t {
    mca_btl_base_component_3_0_0_t super;

    /* MCA variables */
    char *backend_name;
    unsigned int ring_size;
    size_t budget, budget_per_rank;
    unsigned int get_chunk;
    unsigned int poll_interval;
    unsigned int knock_period_us;
    int blocking; /* enum mca_btl_idts_blocking */
    unsigned int spin_time_us;
    unsigned int sleep_max_us;
    /* The smallest rings whose records hold the fragments the limits allowed
     * at init: tunnels start no smaller unless the budget cannot afford it. */
    uint32_t fragment_ring;

    struct idts_backend backend;
    int backend_open;
    struct mca_btl_idts_module_t *module;
    opal_recursive_mutex_t lock;
    opal_free_list_t frags;
    opal_list_t endpoints;                 /* every endpoint */
    struct mca_btl_base_endpoint_t **open; /* endpoints polled by progress */
    int open_count, open_size;
    opal_list_t completed; /* sent frags whose callbacks are due */
    opal_hash_table_t registrations;
    uint64_t next_registration;
    unsigned int poll_countdown;
    int64_t next_check_ns; /* when progress next looks at every peer */
    int64_t next_knock_ns; /* when progress next reads the knock inbox */
    /* Knocks from a job our PMIx does not know yet (btl_idts_endpoint.c). */
    mca_btl_idts_knock_t held_knocks[MCA_BTL_IDTS_HELD_KNOCKS];
    int held_knock_count;
    /* The idle streak of progress (btl_idts_sleep.c). */
    unsigned int idle_polls;
    int64_t idle_ns, last_poll_ns, cpu_ns, cpu_polls;
};
typedef struct mca_btl_idts_component_t mca_btl_idts_component_t;
MCA_BTL_IDTS_DECLSPEC extern mca_btl_idts_component_t mca_btl_idts_component;

/* Values of btl_idts_blocking. */
enum mca_btl_idts_blocking {
    MCA_BTL_IDTS_BLOCKING_AUTO,   /* when Open MPI knows the node is oversubscribed */
    MCA_BTL_IDTS_BLOCKING_NEVER,  /* poll only */
    MCA_BTL_IDTS_BLOCKING_ALWAYS, /* sleep after btl_idts_spin_time of idle polling */
};

/* An honest peer asks once for each region ob1 registered for it: requests
 * waiting to be streamed beyond those, and this many more (refusals of a
 * region just deregistered), are a flood, and end the tunnel. */
#define MCA_BTL_IDTS_SERVE_SLACK 64

/* How often progress looks at every peer, for those that died unheard. */
#define MCA_BTL_IDTS_CHECK_NS 1000000000

struct mca_btl_idts_module_t {
    mca_btl_base_module_t super;
    mca_btl_base_module_error_cb_fn_t error_cb;
};
typedef struct mca_btl_idts_module_t mca_btl_idts_module_t;
extern mca_btl_idts_module_t mca_btl_idts_module;

enum mca_btl_idts_endpoint_state {
    MCA_BTL_IDTS_IDLE,       /* no tunnel yet */
    MCA_BTL_IDTS_CONNECTING, /* tunnel being set up */
    MCA_BTL_IDTS_OPEN,
    MCA_BTL_IDTS_CLOSED, /* the peer closed or the tunnel failed */
};

struct mca_btl_base_endpoint_t {
    opal_list_item_t super;
    opal_proc_t *proc;
    enum mca_btl_idts_endpoint_state state;
    int creator; /* we create the tunnel (mca_btl_idts_creates), the peer attaches */
    int knocked; /* our knock reached the peer */
    int error;   /* CLOSED: the tunnel's error (-EPIPE: the peer closed it) */
    int told;    /* the user was told why the endpoint closed */
    struct idts_tunnel tunnel;
    char key[IDTS_KEY_MAX];
    char peer_inbox[IDTS_KEY_MAX];
    char peer_instance[IDTS_ID_MAX];
    opal_list_t pending; /* frags waiting for the tunnel or for room in its ring */
    size_t pending_bytes;
    opal_list_t serving;       /* GET requests we stream to the peer */
    opal_pointer_array_t gets; /* our GET requests, by token */
    int gets_outstanding;
    uint64_t sent_records, sent_bytes, received_records, received_bytes;
    uint64_t grow_at; /* creator: bytes both ways after which the tunnel may grow */
};
typedef struct mca_btl_base_endpoint_t mca_btl_base_endpoint_t;
OBJ_CLASS_DECLARATION(mca_btl_base_endpoint_t);

/* A send descriptor; its buffer (super.super.ptr) holds max_send_size bytes. */
struct mca_btl_idts_frag_t {
    mca_btl_base_descriptor_t base;
    mca_btl_base_segment_t segment;
    mca_btl_base_endpoint_t *endpoint;
    mca_btl_base_tag_t tag;
};
typedef struct mca_btl_idts_frag_t mca_btl_idts_frag_t;
OBJ_CLASS_DECLARATION(mca_btl_idts_frag_t);

/* btl_idts_module.c */
int mca_btl_idts_module_setup(mca_btl_idts_module_t *module);
mca_btl_base_descriptor_t *mca_btl_idts_alloc(mca_btl_base_module_t *btl,
                                              mca_btl_base_endpoint_t *endpoint, uint8_t order,
                                              size_t size, uint32_t flags);
void mca_btl_idts_fatal(mca_btl_base_endpoint_t *endpoint, const char *topic, int error,
                        const char *why);
/* A topic of help-btl-idts.txt, on stderr; unless every_rank, from the
 * first rank of each node only. */
void mca_btl_idts_show_help(int every_rank, const char *topic, ...);

/* 1 if proc published a modex we can reach and the budget gives it a
 * tunnel, with its instance copied out. */
int mca_btl_idts_peer_instance(opal_proc_t *proc, char *instance);
/* The size of a job our PMIx knows (ours, one we spawned or connected to),
 * 0 for any other. */
uint32_t mca_btl_idts_job_size(opal_jobid_t jobid);
int mca_btl_idts_modex_of(const opal_process_name_t *name, mca_btl_idts_modex_t *modex);

/* Room for the PML's header before a message (ob1's is 56 bytes): with it a
 * 32 KiB message goes eagerly, in one record. */
#define MCA_BTL_IDTS_HEADER_ROOM 64u
/* The default eager limit and fragment size. */
#define MCA_BTL_IDTS_FRAGMENT_SIZE ((32u << 10) + MCA_BTL_IDTS_HEADER_ROOM)
/* Limits left at their defaults shrink to what one record of rings of
 * ring_size bytes holds; those the user set stay. */
void mca_btl_idts_fit_limits(uint32_t ring_size);

/* btl_idts_budget.c */
/* Rings no budget makes smaller; a pair that cannot have them goes to tcp. */
#define MCA_BTL_IDTS_RING_FLOOR (64u << 10)
int mca_btl_idts_creates(const opal_process_name_t *self, const opal_process_name_t *peer);
int mca_btl_idts_budget_admits(const opal_proc_t *proc);
uint32_t mca_btl_idts_budget_ring(mca_btl_base_endpoint_t *endpoint);
/* The ring size a tunnel of ring_size may grow to now; 0: none. */
uint32_t mca_btl_idts_budget_grow(mca_btl_base_endpoint_t *endpoint, uint32_t ring_size);
/* A tunnel we created went from rings of `from` to `to` bytes (0: none). */
void mca_btl_idts_budget_charge(mca_btl_base_endpoint_t *endpoint, uint32_t from, uint32_t to);
void mca_btl_idts_budget_finalize(void);

/* btl_idts_endpoint.c */
mca_btl_base_endpoint_t *mca_btl_idts_endpoint_create(opal_proc_t *proc, const char *instance);
void mca_btl_idts_endpoint_destroy(mca_btl_base_endpoint_t *endpoint);
/* 0 when open, -EAGAIN while connecting (and starts connecting), or an error. */
int mca_btl_idts_endpoint_ready(mca_btl_base_endpoint_t *endpoint);
void mca_btl_idts_endpoint_closed(mca_btl_base_endpoint_t *endpoint, int error);
/* A send or GET that the tunnel refused with `error` for good. */
void mca_btl_idts_endpoint_refused(mca_btl_base_endpoint_t *endpoint, int error);
/* Creator: larger rings for a tunnel that carried MCA_BTL_IDTS_GROW_EVERY
 * rings' worth of bytes since it opened or last grew, where our share of
 * the budget allows (btl_idts_budget.c). */
#define MCA_BTL_IDTS_GROW_EVERY 16
void mca_btl_idts_endpoint_grow(mca_btl_base_endpoint_t *endpoint);
/* Advance connections under way and take knocks (read_inbox: whatever
 * btl_idts_knock_period says, as before a sleep); returns tunnels opened. */
int mca_btl_idts_poll_connections(bool read_inbox);
void mca_btl_idts_inbox_key(const opal_process_name_t *name, char *key, size_t len);
static inline int64_t mca_btl_idts_now_ns(void)
{
    return idts_clock_ns(CLOCK_MONOTONIC);
}
/* The CPU time the calling thread has run: a system call, where now_ns is not. */
static inline int64_t mca_btl_idts_thread_cpu_ns(void)
{
    return idts_clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* btl_idts_sleep.c: an idle streak of progress that lasted long enough
 * ends in a sleep on every tunnel, where the blocking mode allows one. */
void mca_btl_idts_idle(void);

/* Idle polls before the clock is read: a reply that comes at once pays nothing. */
#define MCA_BTL_IDTS_IDLE_POLLS 64

/* Ends the idle streak: progress found work, or the rank sent. A rank that
 * sends between two polls is not waiting, however short the gap: a loop of
 * MPI_Isend and MPI_Test that nobody answers must not sleep in MPI_Test. */
static inline void mca_btl_idts_not_idle(void)
{
    mca_btl_idts_component.idle_polls = 0;
    mca_btl_idts_component.idle_ns = 0;
}

/* Whether idts may sleep when idle: btl_idts_blocking, and Open MPI's
 * opal_progress_yield_when_idle, which it sets for nodes with more ranks
 * than slots. Never with MPI_THREAD_MULTIPLE, where a sleeper holding the
 * lock would hold up every other thread's send. */
static inline int mca_btl_idts_may_sleep(void)
{
    switch (mca_btl_idts_component.blocking) {
    case MCA_BTL_IDTS_BLOCKING_ALWAYS:
        return !opal_using_threads();
    case MCA_BTL_IDTS_BLOCKING_AUTO:
        return opal_progress_yield_when_idle && !opal_using_threads();
    default:
        return 0;
    }
}

/* Whether progress has something to do for an open endpoint: a record
 * waiting, frags queued, gets to stream. Inline: all an idle poll costs. */
static inline int mca_btl_idts_endpoint_busy(mca_btl_base_endpoint_t *endpoint)
{
    return !idts_tunnel_idle(&endpoint->tunnel) || !opal_list_is_empty(&endpoint->pending) ||
           !opal_list_is_empty(&endpoint->serving);
}

/* btl_idts_send.c */
/* Push the frag into the ring, or queue it behind those waiting for room:
 * 0, or the tunnel's error (the frag is then still the caller's). With the
 * lock held; so is mca_btl_idts_send_error(), which turns such an error
 * into Open MPI's and closes a broken endpoint. */
int mca_btl_idts_send_frag(mca_btl_base_endpoint_t *endpoint, mca_btl_idts_frag_t *frag);
int mca_btl_idts_send_error(mca_btl_base_endpoint_t *endpoint, int rc);
int mca_btl_idts_send(mca_btl_base_module_t *btl, mca_btl_base_endpoint_t *endpoint,
                      mca_btl_base_descriptor_t *descriptor, mca_btl_base_tag_t tag);
int mca_btl_idts_sendi(mca_btl_base_module_t *btl, mca_btl_base_endpoint_t *endpoint,
                       struct opal_convertor_t *convertor, void *header, size_t header_size,
                       size_t payload_size, uint8_t order, uint32_t flags, mca_btl_base_tag_t tag,
                       mca_btl_base_descriptor_t **descriptor);
int mca_btl_idts_progress_endpoint(mca_btl_base_endpoint_t *endpoint);
/* Push queued frags into the ring: how many went, or the tunnel's error. */
int mca_btl_idts_push_pending(mca_btl_base_endpoint_t *endpoint);
int mca_btl_idts_complete_sends(void);
mca_btl_idts_frag_t *mca_btl_idts_frag_alloc(mca_btl_base_endpoint_t *endpoint, size_t size);

/* btl_idts_get.c */
struct mca_btl_base_registration_handle_t *
mca_btl_idts_register_mem(mca_btl_base_module_t *btl, mca_btl_base_endpoint_t *endpoint, void *base,
                          size_t size, uint32_t flags);
int mca_btl_idts_deregister_mem(mca_btl_base_module_t *btl,
                                struct mca_btl_base_registration_handle_t *handle);
int mca_btl_idts_get(mca_btl_base_module_t *btl, mca_btl_base_endpoint_t *endpoint,
                     void *local_address, uint64_t remote_address,
                     struct mca_btl_base_registration_handle_t *local_handle,
                     struct mca_btl_base_registration_handle_t *remote_handle, size_t size,
                     int flags, int order, mca_btl_base_rdma_completion_fn_t cbfunc,
                     void *cbcontext, void *cbdata);
void mca_btl_idts_get_request_arrived(mca_btl_base_endpoint_t *endpoint,
                                      const struct idts_record *record);
void mca_btl_idts_get_data_arrived(mca_btl_base_endpoint_t *endpoint,
                                   const struct idts_record *record);
int mca_btl_idts_serve_gets(mca_btl_base_endpoint_t *endpoint);
/* Bytes of the next GET_DATA record the endpoint has to stream, or 0. */
uint32_t mca_btl_idts_next_get_record(mca_btl_base_endpoint_t *endpoint);
void mca_btl_idts_fail_gets(mca_btl_base_endpoint_t *endpoint);

END_C_DECLS

#endif
