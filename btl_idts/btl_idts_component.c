/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * The idts component: MCA variables, opening the backend, the modex, progress.
 */
#include "btl_idts.h"
#include "btl_idts_pvar.h"

#include "opal/util/output.h"
#include "opal/util/show_help.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int idts_register(void);
static int idts_open(void);
static int idts_close(void);
static mca_btl_base_module_t **idts_init(int *num_btls, bool progress_threads, bool mpi_threads);
static int idts_progress(void);

mca_btl_idts_component_t mca_btl_idts_component = {
    .super =
        {
            .btl_version =
                {
                    MCA_BTL_DEFAULT_VERSION("idts"),
                    .mca_open_component = idts_open,
                    .mca_close_component = idts_close,
                    .mca_register_component_params = idts_register,
                },
            .btl_data = {.param_field = MCA_BASE_METADATA_PARAM_CHECKPOINT},
            .btl_init = idts_init,
            .btl_progress = idts_progress,
        },
};

static void register_uint(const char *name, const char *help, int level, unsigned int *storage)
{
    (void)mca_base_component_var_register(&mca_btl_idts_component.super.btl_version, name, help,
                                          MCA_BASE_VAR_TYPE_UNSIGNED_INT, NULL, 0, 0, level,
                                          MCA_BASE_VAR_SCOPE_READONLY, storage);
}

static void register_size(const char *name, const char *help, int level, size_t *storage)
{
    (void)mca_base_component_var_register(&mca_btl_idts_component.super.btl_version, name, help,
                                          MCA_BASE_VAR_TYPE_SIZE_T, NULL, 0, 0, level,
                                          MCA_BASE_VAR_SCOPE_READONLY, storage);
}

static void register_blocking(void)
{
    static const mca_base_var_enum_value_t values[] = {
        {MCA_BTL_IDTS_BLOCKING_AUTO, "auto"},
        {MCA_BTL_IDTS_BLOCKING_NEVER, "never"},
        {MCA_BTL_IDTS_BLOCKING_ALWAYS, "always"},
        {0, NULL},
    };
    mca_base_var_enum_t *enumerator = NULL;

    mca_btl_idts_component.blocking = MCA_BTL_IDTS_BLOCKING_AUTO;
    (void)mca_base_var_enum_create("btl_idts_blocking", values, &enumerator);
    (void)mca_base_component_var_register(
        &mca_btl_idts_component.super.btl_version, "blocking",
        "Whether a rank waiting on idts may sleep after btl_idts_spin_time instead of polling "
        "on: \"auto\" (when Open MPI runs more ranks than slots on the node, as it then "
        "yields when idle), \"always\", or \"never\" (lowest latency, keeps the core busy). "
        "Not with MPI_THREAD_MULTIPLE, where idts always polls",
        MCA_BASE_VAR_TYPE_INT, enumerator, 0, 0, OPAL_INFO_LVL_4, MCA_BASE_VAR_SCOPE_READONLY,
        &mca_btl_idts_component.blocking);
    OBJ_RELEASE(enumerator);
}

static int idts_register(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    mca_btl_base_module_t *m = &mca_btl_idts_module.super;

    c->backend_name = "auto";
    (void)mca_base_component_var_register(
        &c->super.btl_version, "backend",
        "How tunnels share memory with peers: \"xen\" (grant tables, event channels, XenStore: "
        "ranks in different Xen VMs of one host), \"shm\" (POSIX shared memory: ranks under one "
        "kernel), or \"auto\" (the first that works here)",
        MCA_BASE_VAR_TYPE_STRING, NULL, 0, 0, OPAL_INFO_LVL_3, MCA_BASE_VAR_SCOPE_READONLY,
        &c->backend_name);
    c->ring_size = 0;
    register_uint("ring_size",
                  "Bytes of each of the two rings of the largest tunnels, a power of two from "
                  "4096 to 67108864, or 0 for the backend's default (1 MiB). A tunnel's rings "
                  "start at the share of the budget (btl_idts_budget) each tunnel may have, "
                  "down to 64 KiB, and a tunnel that streams grows up to this size while the "
                  "budget lasts. Each tunnel costs twice this much shared memory (on xen, one "
                  "grant per 4 KiB page), plus a page",
                  OPAL_INFO_LVL_4, &c->ring_size);
    c->budget = 0;
    register_size("budget",
                  "Bytes of shared memory all tunnels created in one instance (a VM, a kernel) "
                  "may use together, or 0: on xen, what xen_gntalloc lets the guest share "
                  "(/sys/module/xen_gntalloc/parameters/limit, in 4 KiB pages); elsewhere "
                  "btl_idts_budget_per_rank times the ranks there. Rings are sized to fit it; "
                  "peers that do not fit even with 64 KiB rings are left to the next BTL "
                  "(tcp), with a warning",
                  OPAL_INFO_LVL_4, &c->budget);
    c->budget_per_rank = 2u << 20;
    register_size("budget_per_rank",
                  "Bytes of shared memory per rank of an instance without a fixed limit (shm), "
                  "when btl_idts_budget is 0: two ranks alone get 1 MiB rings, 32 ranks 64 KiB "
                  "rings",
                  OPAL_INFO_LVL_5, &c->budget_per_rank);
    /* The receiver copies a record out while the sender fills the next, so
     * records must be well under the ring and the L2 cache; each also costs a
     * header, a release and a wake-up check at both ends. With 1 MiB rings,
     * 32 KiB records against 16 KiB, interleaved: osu_bw 1.02-1.11x faster at
     * 64 KiB-4 MiB, osu_bibw 1.03-1.14x; 64 KiB records were slower in
     * osu_bibw from 128 KiB, 256 KiB ones half as fast. A lone 32 KiB message
     * took 1.1x longer in one record than in two (osu_latency), so a record
     * is at most half the message. */
    c->get_chunk = 32u << 10;
    register_uint("get_chunk",
                  "Bytes per record when a large message is streamed (rendezvous), or 0 for as "
                  "many as one record of the tunnel's rings holds; tunnels whose rings hold less "
                  "(64 KiB rings: 32736 bytes) use what they hold, and a message takes two "
                  "records at least. The receiver copies each record out while the sender fills "
                  "the next, so records well under the ring stream fastest",
                  OPAL_INFO_LVL_5, &c->get_chunk);
    c->poll_interval = 1024;
    register_uint("poll_interval",
                  "Progress calls between two looks at connections under way (and at the "
                  "knock inbox while there are any); lower connects sooner, higher keeps "
                  "system calls off the progress path",
                  OPAL_INFO_LVL_9, &c->poll_interval);
    /* Reading the inbox takes system calls (accept4: 4.5 us in a KVM guest
     * here): at every poll_interval, they cost a spinning rank 0.25 us of
     * each 8-byte message's latency. */
    c->knock_period_us = 1000;
    register_uint("knock_period",
                  "Microseconds between two reads of the knock inbox while no connection "
                  "is under way: a new peer's first message to a rank busy polling waits up "
                  "to this long (a sleeping rank wakes at once). Each read costs system "
                  "calls, microseconds in a VM",
                  OPAL_INFO_LVL_9, &c->knock_period_us);
    register_blocking();
    /* Progress cannot tell MPI_Wait from a loop of MPI_Test with work between
     * the calls: such a loop (HPCC's RandomAccess) sleeps wherever no message
     * came for this long, and then its peers wait for what it would send.
     * 50 us slowed it 300-fold; 10 ms leaves it level with polling. */
    c->spin_time_us = 10000;
    register_uint("spin_time",
                  "Microseconds that progress polls an idle idts before it sleeps, when "
                  "btl_idts_blocking lets it. A loop of MPI_Test calls with less than 10 us "
                  "of work between them looks idle too: shorter spins let it sleep while it "
                  "has work, longer ones leave less CPU to other ranks and VMs",
                  OPAL_INFO_LVL_5, &c->spin_time_us);
    c->sleep_max_us = 1000;
    register_uint("sleep_max",
                  "Longest sleep of an idle idts in microseconds (rounded up to a "
                  "millisecond): a peer's record or knock ends it at once, but other "
                  "transports and Open MPI's own events wait for its end",
                  OPAL_INFO_LVL_9, &c->sleep_max_us);

    m->btl_exclusivity = MCA_BTL_EXCLUSIVITY_HIGH / 2; /* under self and vader, over networks */
    /* A message to the fragment size goes in one record: a rendezvous
     * costs two round trips more, which take longer than copying 32 KiB
     * (osu_bw at 32 KiB 26.0 against 17.9 GB/s, osu_latency 3.04 against
     * 3.53 us). Such records need rings of 128 KiB; where a budget gives
     * tunnels 64 KiB, the limits yield (mca_btl_idts_fit_limits). */
    m->btl_eager_limit = MCA_BTL_IDTS_FRAGMENT_SIZE;
    m->btl_rndv_eager_limit = 4 * 1024;
    m->btl_max_send_size = MCA_BTL_IDTS_FRAGMENT_SIZE;
    m->btl_rdma_pipeline_send_length = m->btl_eager_limit;
    m->btl_rdma_pipeline_frag_size = SIZE_MAX;
    m->btl_min_rdma_pipeline_size = m->btl_eager_limit;
    m->btl_flags = MCA_BTL_FLAGS_SEND | MCA_BTL_FLAGS_GET;
    m->btl_get_limit = SIZE_MAX;
    m->btl_get_alignment = 0;
    m->btl_registration_handle_size = sizeof(struct mca_btl_base_registration_handle_t);
    m->btl_latency = 1;
    m->btl_bandwidth = 20000;
    mca_btl_idts_pvar_register();
    return mca_btl_base_param_register(&c->super.btl_version, m);
}

static int idts_open(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    /* IDTS_HELP_DIR in the environment serves relocated installs and tests. */
    const char *help_dir = getenv("IDTS_HELP_DIR");

    opal_show_help_add_dir(help_dir ? help_dir : IDTS_HELP_DIR);
    OBJ_CONSTRUCT(&c->lock, opal_recursive_mutex_t);
    OBJ_CONSTRUCT(&c->frags, opal_free_list_t);
    OBJ_CONSTRUCT(&c->endpoints, opal_list_t);
    OBJ_CONSTRUCT(&c->completed, opal_list_t);
    OBJ_CONSTRUCT(&c->registrations, opal_hash_table_t);
    c->open = NULL;
    c->open_count = c->open_size = 0;
    c->backend_open = 0;
    return OPAL_SUCCESS;
}

static int idts_close(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;

    if (c->backend_open)
        idts_backend_close(&c->backend);
    c->backend_open = 0;
    mca_btl_idts_budget_finalize();
    free(c->open);
    c->open = NULL;
    OBJ_DESTRUCT(&c->registrations);
    OBJ_DESTRUCT(&c->completed);
    OBJ_DESTRUCT(&c->endpoints);
    OBJ_DESTRUCT(&c->frags);
    OBJ_DESTRUCT(&c->lock);
    return OPAL_SUCCESS;
}

/* Nonzero when nobody set the standard BTL variable `name`. */
static int left_at_default(const char *name)
{
    mca_base_var_source_t source = MCA_BASE_VAR_SOURCE_DEFAULT;
    int index = mca_base_var_find("opal", "btl", "idts", name);

    return index < 0 || (mca_base_var_get_value(index, NULL, &source, NULL) == OPAL_SUCCESS &&
                         source == MCA_BASE_VAR_SOURCE_DEFAULT);
}

/* A default limit yields to small rings (64 KiB rings carry 32752 bytes);
 * a limit the user chose is checked as it is. */
static void fit_default(const char *name, size_t *limit, size_t most)
{
    if (*limit > most && left_at_default(name))
        *limit = most;
}

void mca_btl_idts_fit_limits(uint32_t ring_size)
{
    mca_btl_base_module_t *m = &mca_btl_idts_module.super;
    size_t most = idts_ring_max_payload(ring_size) & ~(size_t)(IDTS_RECORD_ALIGN - 1);

    fit_default("max_send_size", &m->btl_max_send_size, most);
    fit_default("eager_limit", &m->btl_eager_limit, m->btl_max_send_size);
    fit_default("rndv_eager_limit", &m->btl_rndv_eager_limit, m->btl_max_send_size);
}

static int user_set_within(const char *name, size_t limit, size_t most)
{
    return left_at_default(name) || limit <= most;
}

static uint32_t ring_holding(size_t fragment)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    uint32_t ring = IDTS_RING_MIN_SIZE;

    while (ring < c->ring_size && idts_ring_max_payload(ring) < fragment)
        ring *= 2;
    return ring;
}

static int check_variables(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    mca_btl_base_module_t *m = &mca_btl_idts_module.super;
    /* A limit the user chose must fit the smallest rings a budget may give
     * a tunnel; the defaults fit the largest and yield to the plan's. */
    uint32_t smallest =
        c->ring_size < MCA_BTL_IDTS_RING_FLOOR ? c->ring_size : MCA_BTL_IDTS_RING_FLOOR;
    uint32_t max_payload = idts_ring_max_payload(smallest);

    if (!idts_ring_size_valid(c->ring_size)) {
        mca_btl_idts_show_help(0, "bad ring size", c->ring_size, IDTS_RING_MIN_SIZE,
                               IDTS_RING_MAX_SIZE);
        return OPAL_ERR_BAD_PARAM;
    }
    mca_btl_idts_fit_limits(c->ring_size);
    if (!user_set_within("max_send_size", m->btl_max_send_size, max_payload) ||
        !user_set_within("eager_limit", m->btl_eager_limit, max_payload) ||
        !user_set_within("rndv_eager_limit", m->btl_rndv_eager_limit, max_payload) ||
        m->btl_eager_limit > m->btl_max_send_size ||
        m->btl_rndv_eager_limit > m->btl_max_send_size) {
        mca_btl_idts_show_help(0, "limits exceed ring", (unsigned long)m->btl_eager_limit,
                               (unsigned long)m->btl_rndv_eager_limit,
                               (unsigned long)m->btl_max_send_size, smallest,
                               (unsigned long)max_payload);
        return OPAL_ERR_BAD_PARAM;
    }
    c->fragment_ring = ring_holding(m->btl_max_send_size);
    if (c->poll_interval == 0)
        c->poll_interval = 1;
    return OPAL_SUCCESS;
}

/* What the backend said went wrong, or the bare error when it said nothing. */
static const char *backend_cause(int rc)
{
    const char *why = mca_btl_idts_component.backend.why;

    return why[0] ? why : strerror(-rc);
}

static int open_backend(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    int rc = idts_backend_open(&c->backend, c->backend_name);

    if (rc == 0) {
        /* With "auto", why holds what ruled out the backends tried first. */
        if (c->backend.why[0])
            opal_output_verbose(10, opal_btl_base_framework.framework_output,
                                "btl:idts: using backend %s; passed over: %s", c->backend.ops->name,
                                c->backend.why);
        c->backend.why[0] = '\0';
        c->backend_open = 1;
        return OPAL_SUCCESS;
    }
    /* "auto" quietly steps aside where no backend works; a forced one says why. */
    if (strcmp(c->backend_name, "auto") == 0)
        opal_output_verbose(10, opal_btl_base_framework.framework_output, "btl:idts: disabled: %s",
                            c->backend.why);
    else
        mca_btl_idts_show_help(0, "backend unavailable", c->backend_name, backend_cause(rc));
    return OPAL_ERR_NOT_AVAILABLE;
}

static int publish_modex(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    mca_btl_idts_modex_t modex;
    char inbox[IDTS_KEY_MAX];
    int rc;

    memset(&modex, 0, sizeof(modex));
    snprintf(modex.backend, sizeof(modex.backend), "%s", c->backend.ops->name);
    memcpy(modex.host, c->backend.host, sizeof(modex.host));
    memcpy(modex.instance, c->backend.instance, sizeof(modex.instance));
    snprintf(modex.node, sizeof(modex.node), "%s", opal_process_info.nodename);
    modex.limit_pages = c->backend.share_limit;
    mca_btl_idts_inbox_key(&opal_proc_local_get()->proc_name, inbox, sizeof(inbox));
    c->backend.why[0] = '\0';
    rc = c->backend.ops->listen(&c->backend, inbox);
    if (rc) {
        mca_btl_idts_show_help(1, "listen failed", inbox, backend_cause(rc));
        return OPAL_ERROR;
    }
    OPAL_MODEX_SEND(rc, MCA_BTL_IDTS_MODEX_GLOBAL, &c->super.btl_version, &modex, sizeof(modex));
    return rc;
}

static mca_btl_base_module_t **idts_init(int *num_btls, bool progress_threads, bool mpi_threads)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    mca_btl_base_module_t **btls;

    (void)progress_threads;
    (void)mpi_threads;
    *num_btls = 0;
    if (open_backend() != OPAL_SUCCESS)
        return NULL;
    if (c->ring_size == 0)
        c->ring_size = (uint32_t)(c->backend.share_size / 2);
    if (check_variables() != OPAL_SUCCESS) {
        idts_backend_close(&c->backend);
        c->backend_open = 0;
        return NULL;
    }
    btls = malloc(sizeof(*btls));
    if (!btls || mca_btl_idts_module_setup(&mca_btl_idts_module) != OPAL_SUCCESS ||
        publish_modex() != OPAL_SUCCESS) {
        free(btls);
        idts_backend_close(&c->backend);
        c->backend_open = 0;
        return NULL;
    }
    c->module = &mca_btl_idts_module;
    c->poll_countdown = 1;
    btls[0] = &mca_btl_idts_module.super;
    *num_btls = 1;
    opal_output_verbose(10, opal_btl_base_framework.framework_output,
                        "btl:idts: backend %s, host %s, rings of %u bytes", c->backend.ops->name,
                        c->backend.host, c->ring_size);
    return btls;
}

static int idts_progress(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    int count = 0, i;

    OPAL_THREAD_LOCK(&c->lock);
    for (i = 0; i < c->open_count; i++)
        if (mca_btl_idts_endpoint_busy(c->open[i]))
            count += mca_btl_idts_progress_endpoint(c->open[i]);
    if (--c->poll_countdown == 0) {
        c->poll_countdown = c->poll_interval;
        count += mca_btl_idts_poll_connections(false);
    }
    if (!opal_list_is_empty(&c->completed))
        count += mca_btl_idts_complete_sends();
    if (count) {
        mca_btl_idts_not_idle();
    } else if (c->idle_polls < MCA_BTL_IDTS_IDLE_POLLS) {
        c->idle_polls++;
    } else if (mca_btl_idts_may_sleep()) {
        mca_btl_idts_idle();
    }
    OPAL_THREAD_UNLOCK(&c->lock);
    return count;
}
