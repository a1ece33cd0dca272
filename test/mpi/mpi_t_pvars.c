/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * idts's counters as any MPI_T tool sees them, for test/mpi/mpi-check.sh.
 * On 2 ranks: each reads every performance variable named btl_idts_*, then
 * rank 0 sends rank 1 COUNT eager messages of SIZE bytes and one of
 * 1 MiB (rendezvous), rank 1 answers with one empty message, and each
 * reads the variables again, rank 1 before it answers. Rank 1 reads first
 * and then tells rank 0 to start with an empty message: rank 1 counts it
 * among what it sent, rank 0 counts the answer, not it, among what it
 * received. Each prints
 *   RANK NAME BEFORE AFTER
 * per variable: counters count from when the program started reading
 * them, levels are as they are; what was sent and received shows in the
 * differences.
 *
 *   mpi_t_pvars [COUNT [SIZE]]   (default 1000 messages of 1000 bytes)
 *
 * With "overlap", around two waits instead: rank 0 waits for rank 1's
 * message in a loop of MPI_Test calls with STEP_US of work between them
 * (rank 1 computes COMPUTE_MS first), then rank 1 waits in MPI_Recv while
 * rank 0 computes as long. Each reads before and after its own wait.
 *
 *   mpi_t_pvars overlap
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PVARS  32
#define BIG        (1 << 20)
#define STEP_US    40
#define COMPUTE_MS 200

/* The MPI_T reader: handles on every unsigned long long pvar whose name
 * starts with a prefix, in a session of their own. Open MPI counts a
 * counter from the moment its handle starts (at once: they are
 * continuous), so the handles live as long as the measurement. */
struct pvars {
    MPI_T_pvar_session session;
    MPI_T_pvar_handle handle[MAX_PVARS];
    char name[MAX_PVARS][64];
    int n;
};

static void open_pvars(const char *prefix, struct pvars *p)
{
    MPI_Datatype type;
    MPI_T_enum enumtype;
    char name[64], desc[512];
    int num, i, name_len, desc_len, verbosity, var_class, bind, readonly, continuous, atomic, count;

    p->n = 0;
    MPI_T_pvar_get_num(&num);
    MPI_T_pvar_session_create(&p->session);
    for (i = 0; i < num && p->n < MAX_PVARS; i++) {
        name_len = sizeof(name), desc_len = sizeof(desc);
        if (MPI_T_pvar_get_info(i, name, &name_len, &verbosity, &var_class, &type, &enumtype, desc,
                                &desc_len, &bind, &readonly, &continuous, &atomic) == MPI_SUCCESS &&
            strncmp(name, prefix, strlen(prefix)) == 0 && type == MPI_UNSIGNED_LONG_LONG &&
            MPI_T_pvar_handle_alloc(p->session, i, NULL, &p->handle[p->n], &count) == MPI_SUCCESS)
            snprintf(p->name[p->n++], sizeof(p->name[0]), "%s", name);
    }
}

static void read_pvars(struct pvars *p, unsigned long long *values)
{
    int i;

    for (i = 0; i < p->n; i++)
        if (MPI_T_pvar_read(p->session, p->handle[i], &values[i]) != MPI_SUCCESS)
            values[i] = ~0ull;
}

static void close_pvars(struct pvars *p)
{
    while (p->n > 0)
        MPI_T_pvar_handle_free(p->session, &p->handle[--p->n]);
    MPI_T_pvar_session_free(&p->session);
}

static double thread_cpu(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Work without MPI, as an application's between two calls: this much CPU
 * time of our own, which is what idts judges a caller by (a loop on the
 * wall clock that the scheduler interrupts has done less). */
static void compute(double seconds)
{
    double end = thread_cpu() + seconds;

    while (thread_cpu() < end)
        ;
}

static void overlap(int rank, struct pvars *pvars, unsigned long long *before,
                    unsigned long long *after)
{
    MPI_Request request;
    int done = 0;

    if (rank == 0) {
        read_pvars(pvars, before);
        MPI_Irecv(NULL, 0, MPI_BYTE, 1, 0, MPI_COMM_WORLD, &request);
        while (!done) {
            compute(STEP_US * 1e-6);
            MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        }
        read_pvars(pvars, after);
        compute(COMPUTE_MS * 1e-3);
        MPI_Send(NULL, 0, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
    } else if (rank == 1) {
        compute(COMPUTE_MS * 1e-3);
        MPI_Send(NULL, 0, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
        read_pvars(pvars, before);
        MPI_Recv(NULL, 0, MPI_BYTE, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        read_pvars(pvars, after);
    } else {
        read_pvars(pvars, before);
        read_pvars(pvars, after);
    }
}

static void exchange(int rank, int count, int size, char *buffer, struct pvars *pvars,
                     unsigned long long *before, unsigned long long *after)
{
    int i;

    if (rank != 0)
        read_pvars(pvars, before);
    if (rank == 0) {
        /* Rank 1 has read: what it sends from now on is in its count. */
        MPI_Recv(NULL, 0, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        read_pvars(pvars, before);
        for (i = 0; i < count; i++)
            MPI_Send(buffer, size, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
        MPI_Send(buffer, BIG, MPI_BYTE, 1, 2, MPI_COMM_WORLD);
        MPI_Recv(NULL, 0, MPI_BYTE, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        read_pvars(pvars, after);
    } else if (rank == 1) {
        MPI_Send(NULL, 0, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
        for (i = 0; i < count; i++)
            MPI_Recv(buffer, size, MPI_BYTE, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Recv(buffer, BIG, MPI_BYTE, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        read_pvars(pvars, after);
        MPI_Send(NULL, 0, MPI_BYTE, 0, 3, MPI_COMM_WORLD);
    } else {
        read_pvars(pvars, after);
    }
}

int main(int argc, char **argv)
{
    int overlapping = argc > 1 && strcmp(argv[1], "overlap") == 0;
    int count = argc > 1 && !overlapping ? atoi(argv[1]) : 1000;
    int size = argc > 2 ? atoi(argv[2]) : 1000;
    int rank, provided, i;
    unsigned long long before[MAX_PVARS], after[MAX_PVARS];
    struct pvars pvars;
    char *buffer;

    MPI_T_init_thread(MPI_THREAD_SINGLE, &provided);
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    buffer = calloc(1, size > BIG ? size : BIG);
    if (!buffer || count < 0 || size < 0)
        MPI_Abort(MPI_COMM_WORLD, 2);
    open_pvars("btl_idts_", &pvars);
    MPI_Barrier(MPI_COMM_WORLD); /* the tunnel is open, nothing in flight */
    if (overlapping)
        overlap(rank, &pvars, before, after);
    else
        exchange(rank, count, size, buffer, &pvars, before, after);
    for (i = 0; i < pvars.n; i++)
        printf("%d %s %llu %llu\n", rank, pvars.name[i], before[i], after[i]);
    fflush(stdout);
    close_pvars(&pvars);
    free(buffer);
    /* MPI_T first: Open MPI 4.1.4's MPI_T_finalize after MPI_Finalize
     * closes frameworks MPI_Finalize already closed, and crashes. */
    MPI_T_finalize();
    MPI_Finalize();
    return 0;
}
