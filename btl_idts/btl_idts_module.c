/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * The idts module: which peers it reaches, descriptors, finalize, errors.
 */
#include "btl_idts.h"
#include "btl_idts_pvar.h"

#include "opal/datatype/opal_convertor.h"
#include "opal/util/output.h"
#include "opal/util/show_help.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void frag_construct(mca_btl_idts_frag_t *frag)
{
    frag->base.des_segments = &frag->segment;
    frag->base.des_segment_count = 1;
}

OBJ_CLASS_INSTANCE(mca_btl_idts_frag_t, mca_btl_base_descriptor_t, frag_construct, NULL);

/* How many processes job has, as far as our PMIx knows: 0 for a job it
 * does not know, which it says at once (an optional value, of a job in
 * Open MPI's table), without asking the server. */
uint32_t mca_btl_idts_job_size(opal_jobid_t jobid)
{
    opal_process_name_t job = {.jobid = jobid, .vpid = OPAL_VPID_WILDCARD};
    uint32_t size = 0, *ptr = &size;
    int rc;

    if (!mca_btl_idts_pmix_knows(jobid))
        return 0;
    OPAL_MODEX_RECV_VALUE_OPTIONAL(rc, MCA_BTL_IDTS_JOB_SIZE, &job, &ptr, MCA_BTL_IDTS_UINT32);
    return rc == OPAL_SUCCESS ? size : 0;
}

/* The modex proc published, if it uses our backend: 1 and *modex filled. */
int mca_btl_idts_modex_of(const opal_process_name_t *name, mca_btl_idts_modex_t *modex)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    mca_btl_idts_modex_t *got = NULL;
    size_t size = 0;
    int rc;

    OPAL_MODEX_RECV(rc, &c->super.btl_version, name, (void **)&got, &size);
    if (rc != OPAL_SUCCESS || size != sizeof(*got)) {
        free(got);
        return 0;
    }
    *modex = *got;
    free(got);
    modex->backend[sizeof(modex->backend) - 1] = '\0';
    modex->host[sizeof(modex->host) - 1] = '\0';
    modex->instance[sizeof(modex->instance) - 1] = '\0';
    modex->node[sizeof(modex->node) - 1] = '\0';
    return strcmp(modex->backend, c->backend.ops->name) == 0;
}

/* Reachable: on our host through our backend, and given a tunnel by the
 * budget (btl_idts_budget.c); its instance copied out. */
int mca_btl_idts_peer_instance(opal_proc_t *proc, char *instance)
{
    mca_btl_idts_modex_t modex;
    int reachable = mca_btl_idts_modex_of(&proc->proc_name, &modex) &&
                    strcmp(modex.host, mca_btl_idts_component.backend.host) == 0,
        admitted = reachable && mca_btl_idts_budget_admits(proc);

    if (admitted)
        memcpy(instance, modex.instance, IDTS_ID_MAX);
    opal_output_verbose(20, opal_btl_base_framework.framework_output, "btl:idts: %s (on %s) %s",
                        OPAL_NAME_PRINT(proc->proc_name), reachable ? modex.host : "another host",
                        admitted    ? "is co-resident"
                        : reachable ? "is co-resident, but left to another BTL: over the budget"
                                    : "is not");
    return admitted;
}

static int idts_add_procs(mca_btl_base_module_t *btl, size_t nprocs, opal_proc_t **procs,
                          mca_btl_base_endpoint_t **endpoints, opal_bitmap_t *reachable)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    char instance[IDTS_ID_MAX];
    size_t i;

    (void)btl;
    OPAL_THREAD_LOCK(&c->lock);
    for (i = 0; i < nprocs; i++) {
        if (procs[i] == opal_proc_local_get() || endpoints[i] != NULL ||
            !mca_btl_idts_peer_instance(procs[i], instance))
            continue;
        endpoints[i] = mca_btl_idts_endpoint_create(procs[i], instance);
        if (!endpoints[i]) {
            OPAL_THREAD_UNLOCK(&c->lock);
            return OPAL_ERR_OUT_OF_RESOURCE;
        }
        if (reachable)
            opal_bitmap_set_bit(reachable, (int)i);
    }
    OPAL_THREAD_UNLOCK(&c->lock);
    return OPAL_SUCCESS;
}

static int idts_del_procs(mca_btl_base_module_t *btl, size_t nprocs, opal_proc_t **procs,
                          mca_btl_base_endpoint_t **endpoints)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    size_t i;

    (void)btl;
    (void)procs;
    OPAL_THREAD_LOCK(&c->lock);
    for (i = 0; i < nprocs; i++)
        if (endpoints[i])
            mca_btl_idts_endpoint_destroy(endpoints[i]);
    OPAL_THREAD_UNLOCK(&c->lock);
    return OPAL_SUCCESS;
}

static int idts_finalize(mca_btl_base_module_t *btl)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    opal_list_item_t *item;

    (void)btl;
    OPAL_THREAD_LOCK(&c->lock);
    while ((item = opal_list_get_first(&c->endpoints)) != opal_list_get_end(&c->endpoints))
        mca_btl_idts_endpoint_destroy((mca_btl_base_endpoint_t *)item);
    OPAL_THREAD_UNLOCK(&c->lock);
    return OPAL_SUCCESS;
}

mca_btl_idts_frag_t *mca_btl_idts_frag_alloc(mca_btl_base_endpoint_t *endpoint, size_t size)
{
    mca_btl_idts_frag_t *frag;

    if (size > mca_btl_idts_module.super.btl_max_send_size)
        return NULL;
    frag = (mca_btl_idts_frag_t *)opal_free_list_get(&mca_btl_idts_component.frags);
    if (frag) {
        frag->endpoint = endpoint;
        /* The free list sets the buffer after constructing the frag. */
        frag->segment.seg_addr.pval = frag->base.super.ptr;
        frag->segment.seg_len = size;
        frag->base.des_segment_count = 1;
        frag->base.des_flags = 0;
        frag->base.des_cbfunc = NULL;
    }
    return frag;
}

mca_btl_base_descriptor_t *mca_btl_idts_alloc(mca_btl_base_module_t *btl,
                                              mca_btl_base_endpoint_t *endpoint, uint8_t order,
                                              size_t size, uint32_t flags)
{
    mca_btl_idts_frag_t *frag = mca_btl_idts_frag_alloc(endpoint, size);

    (void)btl;
    (void)order;
    if (!frag)
        return NULL;
    frag->base.des_flags = flags;
    return &frag->base;
}

static int idts_free(mca_btl_base_module_t *btl, mca_btl_base_descriptor_t *descriptor)
{
    (void)btl;
    opal_free_list_return(&mca_btl_idts_component.frags, (opal_free_list_item_t *)descriptor);
    return OPAL_SUCCESS;
}

/* Pack the data behind `reserve` bytes for the PML's header: the frag then
 * goes into the ring in one piece. */
static mca_btl_base_descriptor_t *idts_prepare_src(mca_btl_base_module_t *btl,
                                                   mca_btl_base_endpoint_t *endpoint,
                                                   struct opal_convertor_t *convertor,
                                                   uint8_t order, size_t reserve, size_t *size,
                                                   uint32_t flags)
{
    size_t room = btl->btl_max_send_size - reserve;
    mca_btl_idts_frag_t *frag;
    struct iovec iov;
    uint32_t iov_count = 1;

    (void)order;
    if (reserve > btl->btl_max_send_size)
        return NULL;
    if (*size > room)
        *size = room;
    frag = mca_btl_idts_frag_alloc(endpoint, reserve + *size);
    if (!frag)
        return NULL;
    iov.iov_base = (char *)frag->segment.seg_addr.pval + reserve;
    iov.iov_len = *size;
    if (*size > 0 && opal_convertor_pack(convertor, &iov, &iov_count, size) < 0) {
        idts_free(btl, &frag->base);
        return NULL;
    }
    frag->segment.seg_len = reserve + *size;
    frag->base.des_flags = flags;
    return &frag->base;
}

static int idts_register_error(mca_btl_base_module_t *btl, mca_btl_base_module_error_cb_fn_t cb)
{
    ((mca_btl_idts_module_t *)btl)->error_cb = cb;
    return OPAL_SUCCESS;
}

/* What went wrong with a tunnel, in the help file's topics, in a few words. */
static const char *fatal_summary(const char *topic)
{
    static const struct {
        const char *topic, *summary;
    } summaries[] = {
        {"connect failed", "it could not be set up"},
        {"peer gone", "the peer closed it with messages in flight"},
        {"peer died", "the peer died"},
        {"peer broke protocol", "the peer broke the idts protocol"},
    };
    size_t i;

    for (i = 0; i < sizeof(summaries) / sizeof(summaries[0]); i++)
        if (strcmp(topic, summaries[i].topic) == 0)
            return summaries[i].summary;
    return topic;
}

static void write_all(int fd, const char *text, size_t length)
{
    ssize_t n;

    while (length > 0 && ((n = write(fd, text, length)) > 0 || errno == EINTR)) {
        if (n > 0) {
            text += n;
            length -= (size_t)n;
        }
    }
}

/* Help messages are rendered here and written to stderr, which mpirun
 * forwards whole. Relayed through opal_show_help, a message may never
 * arrive: Open MPI 4.1's mpirun, sending to itself what ranks of its own
 * node report, queues the event that frees the buffer before it copies it
 * (orte/mca/rml/oob/rml_oob_send.c), and loses messages that come together,
 * as from both ends of a failed tunnel ("Data unpack would read past end of
 * buffer ... show_help.c"). A message that every rank would print alike
 * (a setting) comes from the first rank of each node only. */
void mca_btl_idts_show_help(int every_rank, const char *topic, ...)
{
    va_list args;
    char *text;

    if (!every_rank && opal_process_info.my_local_rank > 0)
        return;
    va_start(args, topic);
    text = opal_show_help_vstring("help-btl-idts.txt", topic, true, args);
    va_end(args);
    if (text)
        write_all(STDERR_FILENO, text, strlen(text));
    free(text);
}

/* The help message says it all; the error callback's text, which ob1
 * prints as the job ends, names everything too. why explains a failure the
 * user can fix (a grant limit, rings too small...), or is NULL. */
void mca_btl_idts_fatal(mca_btl_base_endpoint_t *endpoint, const char *topic, int error,
                        const char *why)
{
    mca_btl_idts_module_t *module = &mca_btl_idts_module;
    struct idts_backend *be = &mca_btl_idts_component.backend;
    /* Sized on its own: why may be a caller's text, longer than be->why. */
    char self[128], peer[128], cause[320], summary[sizeof(cause) + 512];

    if (strncmp(topic, "connect", 7) == 0)
        mca_btl_idts_counters.connect_failures++;
    else
        mca_btl_idts_counters.tunnel_failures++;
    snprintf(cause, sizeof(cause), "%s%s%s", strerror(error < 0 ? -error : error),
             why && why[0] ? ": " : "", why ? why : "");
    /* What the backend explained belongs to this failure, not to the next. */
    be->why[0] = '\0';
    snprintf(self, sizeof(self), "%s", OPAL_NAME_PRINT(opal_proc_local_get()->proc_name));
    snprintf(peer, sizeof(peer), "%s", OPAL_NAME_PRINT(endpoint->proc->proc_name));
    mca_btl_idts_show_help(1, topic, opal_process_info.nodename, self, peer, cause);
    snprintf(summary, sizeof(summary),
             "btl:idts on %s: the tunnel between %s and %s failed: %s (%s)",
             opal_process_info.nodename, self, peer, fatal_summary(topic), cause);
    if (module->error_cb)
        module->error_cb(&module->super, MCA_BTL_ERROR_FLAGS_FATAL, endpoint->proc, summary);
}

int mca_btl_idts_module_setup(mca_btl_idts_module_t *module)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    int rc;

    rc = opal_free_list_init(&c->frags, sizeof(mca_btl_idts_frag_t), opal_cache_line_size,
                             OBJ_CLASS(mca_btl_idts_frag_t), module->super.btl_max_send_size,
                             opal_cache_line_size, 16, -1, 16, NULL, 0, NULL, NULL, NULL);
    if (rc == OPAL_SUCCESS)
        rc = opal_hash_table_init(&c->registrations, 256);
    return rc;
}

mca_btl_idts_module_t mca_btl_idts_module = {
    .super =
        {
            .btl_component = &mca_btl_idts_component.super,
            .btl_add_procs = idts_add_procs,
            .btl_del_procs = idts_del_procs,
            .btl_finalize = idts_finalize,
            .btl_alloc = mca_btl_idts_alloc,
            .btl_free = idts_free,
            .btl_prepare_src = idts_prepare_src,
            .btl_send = mca_btl_idts_send,
            .btl_sendi = mca_btl_idts_sendi,
            .btl_get = mca_btl_idts_get,
            .btl_register_mem = mca_btl_idts_register_mem,
            .btl_deregister_mem = mca_btl_idts_deregister_mem,
            .btl_register_error = idts_register_error,
        },
};
