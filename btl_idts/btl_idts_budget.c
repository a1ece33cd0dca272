/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * How large each tunnel's rings are, and which peers get a tunnel at all.
 *
 * Every co-resident pair of ranks that idts carries gets a tunnel of its own,
 * so their number grows with the square of the ranks, while what they share
 * is a budget of the instance they are created in (a guest's grants: the
 * xen_gntalloc limit, for all its processes together; a kernel's memory).
 * A tunnel with rings of s bytes costs cost(s) = 2 s / 4 KiB + 1 pages
 * (idts_region_pages()). The plan, made once from the modex of every rank
 * of the job, so that both ends of each pair come to the same answer
 * without a word:
 *
 *  - the instance G's budget L_G (pages) is what its ranks published
 *    (gntalloc's limit), or btl_idts_budget, or btl_idts_budget_per_rank
 *    times G's ranks where the instance has no fixed limit (shm);
 *  - T_G is the number of tunnels G's ranks create: pairs on one host that
 *    idts carries (not those on one node when a BTL that outranks idts,
 *    vader or sm, takes the node's pairs), each created by the end that
 *    mca_btl_idts_creates() names, which spreads them evenly;
 *  - rings start at the fair share, the largest power of two with
 *    T_G * cost(s) <= L_G, between the floor and btl_idts_ring_size; the
 *    floor is the rings whose records hold a fragment (128 KiB: eager
 *    messages to 32 KiB) where every instance of the job affords them for
 *    all its tunnels, else 64 KiB (which still streams well), and the
 *    fragment limits yield to it (mca_btl_idts_fit_limits);
 *  - if even the floor does not fit, the first L_G / cost(floor) tunnels of
 *    G (by creator, then attacher rank) get one at the floor, and idts
 *    declines the other peers: the next BTL (tcp) carries them, and the
 *    first rank of G says so once;
 *  - a rank may grow the tunnels it created (mca_btl_idts_budget_grow) out
 *    of its share, A = its tunnels * L_G / T_G, less what its tunnels use
 *    and a floor for each it has yet to create: pairs that stream large
 *    messages get large rings, pairs that are idle keep small ones, and the
 *    instance never exceeds its budget.
 * Peers of other jobs (MPI_Comm_spawn, connect/accept) get rings that hold
 * a fragment, outside the plan.
 */
#include "btl_idts.h"

#include "opal/util/output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* What the plan knows of one rank of the job. */
struct rank {
    int instance; /* index into the instances, -1: idts cannot reach it */
    int host, node;
    uint64_t limit; /* pages, as it published: 0 for none */
};

struct instance_total {
    uint64_t budget;  /* pages: L_G */
    uint64_t tunnels; /* T_G */
    uint64_t ranks;
};

static struct {
    int planned;
    uint32_t size; /* ranks of the job */
    struct rank *ranks;
    struct instance_total *instances;
    uint8_t *admitted; /* by vpid: the pair with us gets a tunnel */
    uint32_t fair, floor;
    /* Pages of our share, used by our tunnels, and tunnels we may yet create. */
    uint64_t share, used, uncreated;
} plan;

static uint64_t cost(uint32_t ring_size)
{
    return idts_region_pages(ring_size);
}

static uint32_t pow2_floor(uint64_t n)
{
    uint32_t p = 1;

    while (n > 1 && (uint64_t)p * 2 <= n && p < (1u << 31))
        p *= 2;
    return p;
}

/* Pairs are created by one end or the other, alternately (the lower name
 * where the sum of the names is odd, the higher where it is even), so that
 * each instance creates about half of its pairs with another. */
int mca_btl_idts_creates(const opal_process_name_t *self, const opal_process_name_t *peer)
{
    int lower = opal_compare_proc(*self, *peer) < 0;
    uint32_t sum = self->jobid + self->vpid + peer->jobid + peer->vpid;

    return sum % 2 ? lower : !lower;
}

/* A BTL that outranks idts and is not self (vader, sm) takes the pairs
 * of a node: idts never makes tunnels for them. */
static int node_taken_by_another(void)
{
    mca_btl_base_selected_module_t *sm;

    OPAL_LIST_FOREACH(sm, &mca_btl_base_modules_initialized, mca_btl_base_selected_module_t)
    if (sm->btl_module != &mca_btl_idts_module.super &&
        strcmp(sm->btl_component->btl_version.mca_component_name, "self") != 0 &&
        sm->btl_module->btl_exclusivity > mca_btl_idts_module.super.btl_exclusivity)
        return 1;
    return 0;
}

/* The index of name in the table of distinct names, adding it. */
static int intern(char (*table)[IDTS_ID_MAX], int *count, const char *name)
{
    int i;

    for (i = 0; i < *count; i++)
        if (strcmp(table[i], name) == 0)
            return i;
    snprintf(table[*count], IDTS_ID_MAX, "%s", name);
    return (*count)++;
}

/* Every rank's modex, as integers. */
static int read_ranks(void)
{
    opal_process_name_t name = OPAL_PROC_MY_NAME;
    char(*hosts)[IDTS_ID_MAX], (*nodes)[IDTS_ID_MAX], (*instances)[IDTS_ID_MAX];
    mca_btl_idts_modex_t modex;
    int nhosts = 0, nnodes = 0, ninstances = 0;
    uint32_t i;

    plan.ranks = calloc(plan.size, sizeof(*plan.ranks));
    hosts = calloc(plan.size, IDTS_ID_MAX);
    nodes = calloc(plan.size, IDTS_ID_MAX);
    instances = calloc(plan.size, IDTS_ID_MAX);
    if (!plan.ranks || !hosts || !nodes || !instances) {
        free(hosts), free(nodes), free(instances);
        return OPAL_ERR_OUT_OF_RESOURCE;
    }
    for (i = 0; i < plan.size; i++) {
        name.vpid = i;
        plan.ranks[i].instance = -1;
        if (!mca_btl_idts_modex_of(&name, &modex))
            continue;
        plan.ranks[i].host = intern(hosts, &nhosts, modex.host);
        plan.ranks[i].node = intern(nodes, &nnodes, modex.node);
        plan.ranks[i].instance = intern(instances, &ninstances, modex.instance);
        plan.ranks[i].limit = modex.limit_pages;
    }
    free(hosts), free(nodes), free(instances);
    plan.instances = calloc((size_t)ninstances + 1, sizeof(*plan.instances));
    return plan.instances ? OPAL_SUCCESS : OPAL_ERR_OUT_OF_RESOURCE;
}

/* Whether idts carries the pair (i, j) of the job's ranks. */
static int carried(uint32_t i, uint32_t j, int node_taken)
{
    const struct rank *a = &plan.ranks[i], *b = &plan.ranks[j];

    return i != j && a->instance >= 0 && b->instance >= 0 && a->host == b->host &&
           !(node_taken && a->node == b->node);
}

static uint32_t creator_of(uint32_t i, uint32_t j)
{
    opal_process_name_t a = OPAL_PROC_MY_NAME, b = OPAL_PROC_MY_NAME;

    a.vpid = i;
    b.vpid = j;
    return mca_btl_idts_creates(&a, &b) ? i : j;
}

/* Tunnels created by each rank (per[]) and by each instance. */
static void count_tunnels(uint32_t *per, int node_taken)
{
    uint32_t i, j;

    for (i = 0; i < plan.size; i++)
        for (j = 0; j < plan.size; j++)
            if (carried(i, j, node_taken) && creator_of(i, j) == i) {
                per[i]++;
                plan.instances[plan.ranks[i].instance].tunnels++;
            }
}

static void set_budgets(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    uint32_t i;

    for (i = 0; i < plan.size; i++) {
        struct rank *r = &plan.ranks[i];
        struct instance_total *g;

        if (r->instance < 0)
            continue;
        g = &plan.instances[r->instance];
        g->ranks++;
        if (c->budget)
            g->budget = c->budget / IDTS_PAGE_SIZE;
        else if (r->limit)
            g->budget = r->limit;
    }
    for (i = 0; i < plan.size; i++) {
        struct instance_total *g;

        if (plan.ranks[i].instance < 0)
            continue;
        g = &plan.instances[plan.ranks[i].instance];
        if (g->budget == 0)
            g->budget = g->ranks * (c->budget_per_rank / IDTS_PAGE_SIZE);
    }
}

/* How many of an instance's tunnels the budget admits. */
static uint64_t admits(const struct instance_total *g)
{
    uint64_t fits = g->budget / cost(plan.floor);

    return fits < g->tunnels ? fits : g->tunnels;
}

/* The place of the tunnel (creator, attacher) in its instance's order. */
static uint64_t place(const uint32_t *per, uint32_t creator, uint32_t attacher, int node_taken)
{
    uint64_t n = 0;
    uint32_t i;

    for (i = 0; i < creator; i++)
        if (plan.ranks[i].instance == plan.ranks[creator].instance)
            n += per[i];
    for (i = 0; i < attacher; i++)
        if (carried(creator, i, node_taken) && creator_of(creator, i) == creator)
            n++;
    return n;
}

static void warn_declined(const struct instance_total *g, uint64_t declined)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    char limit[160];

    snprintf(limit, sizeof(limit), "%s",
             c->budget ? "btl_idts_budget"
             : plan.ranks[OPAL_PROC_MY_NAME.vpid].limit
                 ? "the grants this guest may share "
                   "(/sys/module/xen_gntalloc/parameters/limit)"
                 : "btl_idts_budget_per_rank");
    mca_btl_idts_show_help(
        1, "budget exceeded", opal_process_info.nodename, (unsigned long long)g->tunnels,
        (unsigned long long)declined, (unsigned long long)g->budget * (IDTS_PAGE_SIZE / 1024),
        limit, (unsigned long long)cost(plan.floor) * g->tunnels * (IDTS_PAGE_SIZE / 1024),
        plan.floor / 1024);
}

static void decide(const uint32_t *per, int node_taken)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    uint32_t me = OPAL_PROC_MY_NAME.vpid, j, first = me;
    const struct instance_total *mine = &plan.instances[plan.ranks[me].instance];
    uint64_t pages = mine->tunnels ? mine->budget / mine->tunnels : 0;

    plan.fair = pages > 1 ? pow2_floor((pages - 1) * IDTS_PAGE_SIZE / 2) : IDTS_RING_MIN_SIZE;
    if (plan.fair > c->ring_size)
        plan.fair = c->ring_size;
    if (plan.fair < plan.floor)
        plan.fair = plan.floor;
    for (j = 0; j < plan.size; j++) {
        uint32_t creator;

        if (!carried(me, j, node_taken))
            continue;
        creator = creator_of(me, j);
        plan.admitted[j] = place(per, creator, creator == me ? j : me, node_taken) <
                           admits(&plan.instances[plan.ranks[creator].instance]);
        if (creator == me && plan.admitted[j])
            plan.uncreated++;
    }
    plan.share =
        admits(mine) < mine->tunnels ? plan.uncreated * cost(plan.floor) : plan.uncreated * pages;
    for (j = 0; j < plan.size; j++)
        if (plan.ranks[j].instance == plan.ranks[me].instance && j < first)
            first = j;
    if (admits(mine) < mine->tunnels && first == me)
        warn_declined(mine, mine->tunnels - admits(mine));
    opal_output_verbose(10, opal_btl_base_framework.framework_output,
                        "btl:idts: this instance may share %llu KiB among %llu tunnels of its "
                        "%llu ranks: rings of %u bytes, %llu tunnels admitted",
                        (unsigned long long)mine->budget * (IDTS_PAGE_SIZE / 1024),
                        (unsigned long long)mine->tunnels, (unsigned long long)mine->ranks,
                        plan.fair, (unsigned long long)admits(mine));
}

/* The floor rises to the rings a fragment needs where every instance can
 * give all its tunnels such rings. */
static void raise_floor(void)
{
    uint32_t ring = mca_btl_idts_component.fragment_ring, i;

    if (ring <= plan.floor)
        return;
    for (i = 0; i < plan.size; i++) {
        const struct rank *r = &plan.ranks[i];

        if (r->instance >= 0 && plan.instances[r->instance].tunnels &&
            plan.instances[r->instance].budget / plan.instances[r->instance].tunnels < cost(ring))
            return;
    }
    plan.floor = ring;
}

static int make_plan(void)
{
    mca_btl_idts_component_t *c = &mca_btl_idts_component;
    int node_taken = node_taken_by_another(), rc;
    uint32_t *per;

    plan.planned = 1;
    plan.floor = c->ring_size < MCA_BTL_IDTS_RING_FLOOR ? c->ring_size : MCA_BTL_IDTS_RING_FLOOR;
    plan.size = mca_btl_idts_job_size(OPAL_PROC_MY_NAME.jobid);
    if (plan.size <= OPAL_PROC_MY_NAME.vpid)
        return OPAL_ERR_NOT_FOUND;
    rc = read_ranks();
    per = calloc(plan.size, sizeof(*per));
    plan.admitted = calloc(plan.size, 1);
    if (rc != OPAL_SUCCESS || !per || !plan.admitted) {
        free(per);
        free(plan.admitted);
        plan.admitted = NULL;
        return OPAL_ERR_OUT_OF_RESOURCE;
    }
    if (plan.ranks[OPAL_PROC_MY_NAME.vpid].instance >= 0) {
        count_tunnels(per, node_taken);
        set_budgets();
        raise_floor();
        decide(per, node_taken);
    }
    free(per);
    return OPAL_SUCCESS;
}

/* Before the PML sends anything: fragments fit every tunnel of the plan. */
static void fit_limits(void)
{
    mca_btl_base_module_t *m = &mca_btl_idts_module.super;

    mca_btl_idts_fit_limits(plan.floor);
    opal_output_verbose(10, opal_btl_base_framework.framework_output,
                        "btl:idts: rings of %u bytes at least: fragments of %zu bytes, eager to "
                        "%zu",
                        plan.floor, m->btl_max_send_size, m->btl_eager_limit);
}

int mca_btl_idts_budget_admits(const opal_proc_t *proc)
{
    if (proc->proc_name.jobid != OPAL_PROC_MY_NAME.jobid)
        return 1;
    if (!plan.planned) {
        if (make_plan() != OPAL_SUCCESS)
            opal_output_verbose(
                1, opal_btl_base_framework.framework_output,
                "btl:idts: no plan of ring sizes for this job: floor rings for all");
        fit_limits();
    }
    return !plan.admitted ||
           (proc->proc_name.vpid < plan.size && plan.admitted[proc->proc_name.vpid]);
}

/* Our pages that no tunnel uses or has a floor reserved in. */
static uint64_t spare(void)
{
    uint64_t held = plan.used + plan.uncreated * cost(plan.floor);

    return plan.share > held ? plan.share - held : 0;
}

uint32_t mca_btl_idts_budget_ring(mca_btl_base_endpoint_t *endpoint)
{
    uint32_t size = plan.floor;

    if (endpoint->proc->proc_name.jobid != OPAL_PROC_MY_NAME.jobid || !plan.floor)
        return mca_btl_idts_component.fragment_ring;
    if (!plan.admitted)
        return plan.floor;
    /* The floor reserved for this tunnel is now spare: it takes from that. */
    if (plan.uncreated > 0)
        plan.uncreated--;
    while (size < plan.fair && cost(size * 2) <= spare())
        size *= 2;
    mca_btl_idts_budget_charge(endpoint, 0, size);
    return size;
}

uint32_t mca_btl_idts_budget_grow(mca_btl_base_endpoint_t *endpoint, uint32_t ring_size)
{
    uint32_t size = ring_size;

    if (endpoint->proc->proc_name.jobid != OPAL_PROC_MY_NAME.jobid || !plan.admitted)
        return 0;
    while (size < mca_btl_idts_component.ring_size && cost(size * 2) - cost(ring_size) <= spare())
        size *= 2;
    return size == ring_size ? 0 : size;
}

void mca_btl_idts_budget_charge(mca_btl_base_endpoint_t *endpoint, uint32_t from, uint32_t to)
{
    uint64_t before = from ? cost(from) : 0, after = to ? cost(to) : 0;

    if (endpoint->proc->proc_name.jobid != OPAL_PROC_MY_NAME.jobid || !plan.admitted)
        return;
    plan.used = plan.used + after > before ? plan.used + after - before : 0;
}

void mca_btl_idts_budget_finalize(void)
{
    free(plan.ranks);
    free(plan.instances);
    free(plan.admitted);
    memset(&plan, 0, sizeof(plan));
}
