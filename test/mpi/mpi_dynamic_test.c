/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Dynamic processes: jobs that grow at run time and talk across jobs, over
 * whatever BTLs mpirun selects (test/mpi-dynamic.sh runs it with and
 * without idts). Rank 0 of the first job prints one TAP line per check with
 * the number of processes that failed it.
 *
 *   mpi_dynamic_test spawn     the job spawns as many children as it has
 *                              ranks, merges with them and talks
 *   mpi_dynamic_test connect   the job opens a port and publishes it; the
 *                              children it spawns look the name up and
 *                              connect (MPI_Comm_connect/accept), then merge
 *   mpi_dynamic_test leave     one child sends its parent a large message,
 *                              frees the request and leaves (MPI_Finalize)
 *                              before the parent came for it: the parent's
 *                              receive cannot complete, and must fail, not hang
 *   mpi_dynamic_test leave-polling  the same, the parent polling meanwhile:
 *                              the message's header arrives unexpected and
 *                              the tunnel closes before a receive matches it
 *   mpi_dynamic_test rings     the job (run with btl_idts_ring_size 65536)
 *                              spawns two children with the default ring
 *                              size and talks to them: the child that finds
 *                              rings too small for its fragments must stop
 *                              the job saying why, not send into them
 */
#include "mpi_tap.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZES 3

static const int sizes[SIZES] = {8, 4000, 1 << 20};

static uint8_t byte_at(size_t i, int size, int from)
{
    return (uint8_t)(i * 131 + (size_t)size * 7 + (size_t)from * 13);
}

/* Around the ring of the merged communicator at every size, then
 * collectives: all results checked. */
static void talk(MPI_Comm merged, const char *how)
{
    int rank, size, next, prev, i, good = 1, sum = 0, value;
    uint8_t *out = malloc(sizes[SIZES - 1]), *in = malloc(sizes[SIZES - 1]);
    int *all;
    char what[128];
    size_t k;

    MPI_Comm_rank(merged, &rank);
    MPI_Comm_size(merged, &size);
    next = (rank + 1) % size;
    prev = (rank + size - 1) % size;
    for (i = 0; i < SIZES; i++) {
        for (k = 0; k < (size_t)sizes[i]; k++)
            out[k] = byte_at(k, sizes[i], rank);
        MPI_Sendrecv(out, sizes[i], MPI_BYTE, next, i, in, sizes[i], MPI_BYTE, prev, i, merged,
                     MPI_STATUS_IGNORE);
        for (k = 0; k < (size_t)sizes[i]; k++)
            good &= in[k] == byte_at(k, sizes[i], prev);
    }
    snprintf(what, sizeof(what), "%s: a ring of 8 B, 4000 B and 1 MiB messages, intact", how);
    tap_ok_all(merged, good, what);

    value = rank + 1;
    MPI_Allreduce(&value, &sum, 1, MPI_INT, MPI_SUM, merged);
    all = malloc(2 * sizeof(int) * (size_t)size);
    for (i = 0; i < size; i++)
        all[i] = rank * 100 + i;
    MPI_Alltoall(all, 1, MPI_INT, all + size, 1, MPI_INT, merged);
    good = sum == size * (size + 1) / 2;
    for (i = 0; i < size; i++)
        good &= all[size + i] == i * 100 + rank;
    snprintf(what, sizeof(what), "%s: allreduce and alltoall", how);
    tap_ok_all(merged, good, what);
    free(all);
    free(out);
    free(in);
}

/* The children of "rings" get this ring size, as a job started apart. */
#define CHILD_RINGS "1048576"

static MPI_Comm spawn(char *program, const char *mode, int children)
{
    char *args[3] = {(char *)mode, strcmp(mode, "rings") == 0 ? CHILD_RINGS : NULL, NULL};
    MPI_Comm inter;

    MPI_Comm_spawn(program, args, children, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &inter,
                   MPI_ERRCODES_IGNORE);
    return inter;
}

static void merge_and_talk(MPI_Comm inter, int high, const char *how)
{
    MPI_Comm merged;

    MPI_Intercomm_merge(inter, high, &merged);
    talk(merged, how);
    MPI_Comm_free(&merged);
}

static void leave(char *program, const char *mode, MPI_Comm parent)
{
    static uint8_t buf[4 << 20];
    MPI_Request request;
    MPI_Comm child;
    double until;
    int flag;

    if (parent != MPI_COMM_NULL) {
        MPI_Isend(buf, sizeof(buf), MPI_BYTE, 0, 1, parent, &request);
        MPI_Request_free(&request);
        return;
    }
    child = spawn(program, mode, 1);
    if (strcmp(mode, "leave") == 0)
        sleep(3);
    else
        for (until = MPI_Wtime() + 3; MPI_Wtime() < until;)
            MPI_Iprobe(0, 2, child, &flag, MPI_STATUS_IGNORE);
    MPI_Recv(buf, sizeof(buf), MPI_BYTE, 0, 1, child, MPI_STATUS_IGNORE);
    printf("received what the child left behind\n");
}

int main(int argc, char **argv)
{
    MPI_Comm parent, inter, client;
    char port[MPI_MAX_PORT_NAME], service[64];
    int rank, nprocs, printer;

    if (argc == 3 && strcmp(argv[1], "rings") == 0)
        setenv("OMPI_MCA_btl_idts_ring_size", argv[2], 1);
    MPI_Init(&argc, &argv);
    MPI_Comm_get_parent(&parent);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    printer = parent == MPI_COMM_NULL && rank == 0;
    if (argc < 2 || argc > 2 + (parent != MPI_COMM_NULL) ||
        (strcmp(argv[1], "spawn") && strcmp(argv[1], "connect") && strcmp(argv[1], "leave") &&
         strcmp(argv[1], "leave-polling") && strcmp(argv[1], "rings"))) {
        if (printer)
            fprintf(stderr, "usage: mpi_dynamic_test spawn|connect|leave|leave-polling|rings\n");
        MPI_Finalize();
        return 2;
    }
    snprintf(service, sizeof(service), "idts-dynamic-%s", argv[1]);

    if (strcmp(argv[1], "spawn") == 0 || strcmp(argv[1], "rings") == 0) {
        /* rings: two children, as the parent creates the tunnel to one
         * of them and the other creates its own (mca_btl_idts_creates). */
        inter = parent != MPI_COMM_NULL
                    ? parent
                    : spawn(argv[0], argv[1], strcmp(argv[1], "rings") ? nprocs : 2);
        merge_and_talk(inter, parent != MPI_COMM_NULL, "spawn and merge");
        MPI_Comm_disconnect(&inter);
    } else if (strcmp(argv[1], "connect") == 0) {
        if (parent == MPI_COMM_NULL) {
            if (rank == 0) {
                MPI_Open_port(MPI_INFO_NULL, port);
                MPI_Publish_name(service, MPI_INFO_NULL, port);
            }
            inter = spawn(argv[0], "connect", nprocs);
            MPI_Comm_accept(port, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &client);
            if (rank == 0) {
                MPI_Unpublish_name(service, MPI_INFO_NULL, port);
                MPI_Close_port(port);
            }
        } else {
            inter = parent;
            if (rank == 0)
                MPI_Lookup_name(service, MPI_INFO_NULL, port);
            MPI_Comm_connect(port, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &client);
        }
        merge_and_talk(client, parent != MPI_COMM_NULL, "published port, connect/accept and merge");
        MPI_Comm_disconnect(&client);
        MPI_Comm_disconnect(&inter);
    } else {
        leave(argv[0], argv[1], parent);
    }
    MPI_Finalize();
    return printer ? tap_done() : 0;
}
