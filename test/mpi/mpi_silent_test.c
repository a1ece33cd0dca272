/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Ranks that stay away from MPI for a long while, as real codes do (rank 0
 * reads the input deck, a checkpoint, a long local solve): the job must go
 * on as it does over tcp and vader. Ranks pair up (0 with 1, 2 with 3...);
 * the odd ones, or with "even" the even ones, are silent: they sleep
 * SECONDS before their first MPI call after MPI_Init. (idts: the lower name
 * of a pair creates the tunnel, so "odd" and "even" take both sides.)
 *
 *   mpi_silent_test receiver SECONDS [odd|even]  the other sends to its silent partner
 *   mpi_silent_test sender SECONDS [odd|even]    the silent ones send to their waiting partner
 *   mpi_silent_test crossed SECONDS [odd|even]   both send eagerly first, then receive
 *
 * Then every pair exchanges messages of eager and rendezvous size and all
 * ranks run collectives, every result checked. Rank 0 prints one TAP line
 * per check with the number of ranks that failed it.
 */
#include "mpi_tap.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EAGER     1024
#define RNDV      (1 << 20)
#define TAG_EAGER 1
#define TAG_ISEND 2
#define TAG_RNDV  3

static int rank, nprocs;

static uint8_t byte_at(size_t i, int tag, int from)
{
    return (uint8_t)(i * 131 + (size_t)tag * 7 + (size_t)from * 13);
}

static uint8_t *message(size_t size, int tag, int from)
{
    uint8_t *buf = malloc(size);
    size_t i;

    for (i = 0; buf && i < size; i++)
        buf[i] = byte_at(i, tag, from);
    return buf;
}

static int received(int from, size_t size, int tag)
{
    uint8_t *buf = malloc(size);
    size_t i;
    int good = buf != NULL;

    if (buf) {
        memset(buf, 0, size);
        MPI_Recv(buf, (int)size, MPI_BYTE, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (i = 0; i < size && good; i++)
            good = buf[i] == byte_at(i, tag, from);
    }
    free(buf);
    return good;
}

static double now(void)
{
    return MPI_Wtime();
}

/* The messages a talking rank sends its silent partner: a blocking eager
 * send and an Isend+Wait, which must both complete without the partner, then
 * a rendezvous send, which waits for it. Returns the seconds the two eager
 * sends took. */
static double send_to(int peer)
{
    uint8_t *eager = message(EAGER, TAG_EAGER, rank), *isend = message(EAGER, TAG_ISEND, rank);
    uint8_t *rndv = message(RNDV, TAG_RNDV, rank);
    MPI_Request request;
    double start = now(), took;

    MPI_Send(eager, EAGER, MPI_BYTE, peer, TAG_EAGER, MPI_COMM_WORLD);
    MPI_Isend(isend, EAGER, MPI_BYTE, peer, TAG_ISEND, MPI_COMM_WORLD, &request);
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    took = now() - start;
    MPI_Send(rndv, RNDV, MPI_BYTE, peer, TAG_RNDV, MPI_COMM_WORLD);
    free(eager);
    free(isend);
    free(rndv);
    return took;
}

static int receive_from(int peer)
{
    int good = received(peer, EAGER, TAG_EAGER);

    good &= received(peer, EAGER, TAG_ISEND);
    return good & received(peer, RNDV, TAG_RNDV);
}

/* Afterwards: both directions at both sizes, then collectives. */
static void afterwards(int peer)
{
    int sizes[2] = {EAGER, RNDV}, i, j, good = 1, sum = 0, *all, *counts, *displs, *gathered;
    int total = 0, value;
    uint8_t *out;

    for (i = 0; i < 2; i++) {
        out = message((size_t)sizes[i], 10 + i, rank);
        if (rank % 2 == 0) {
            MPI_Send(out, sizes[i], MPI_BYTE, peer, 10 + i, MPI_COMM_WORLD);
            good &= received(peer, (size_t)sizes[i], 10 + i);
        } else {
            good &= received(peer, (size_t)sizes[i], 10 + i);
            MPI_Send(out, sizes[i], MPI_BYTE, peer, 10 + i, MPI_COMM_WORLD);
        }
        free(out);
    }
    ok_all(good, "afterwards: both directions, eager and rendezvous sizes, intact");

    MPI_Barrier(MPI_COMM_WORLD);
    value = rank == 0 ? 4242 : -1;
    MPI_Bcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD);
    ok_all(value == 4242, "afterwards: barrier and bcast");
    value = rank + 1;
    MPI_Allreduce(&value, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    ok_all(sum == nprocs * (nprocs + 1) / 2, "afterwards: allreduce");

    all = malloc(2 * sizeof(int) * (size_t)nprocs);
    for (i = 0; i < nprocs; i++)
        all[i] = rank * 1000 + i;
    MPI_Alltoall(all, 1, MPI_INT, all + nprocs, 1, MPI_INT, MPI_COMM_WORLD);
    good = 1;
    for (i = 0; i < nprocs; i++)
        good &= all[nprocs + i] == i * 1000 + rank;
    ok_all(good, "afterwards: alltoall");

    counts = malloc(2 * sizeof(int) * (size_t)nprocs);
    displs = counts + nprocs;
    for (i = 0; i < nprocs; i++) {
        counts[i] = i + 1;
        displs[i] = total;
        total += i + 1;
    }
    gathered = malloc(sizeof(int) * (size_t)total);
    for (i = 0; i <= rank; i++)
        all[i] = rank;
    MPI_Allgatherv(all, rank + 1, MPI_INT, gathered, counts, displs, MPI_INT, MPI_COMM_WORLD);
    good = 1;
    for (i = 0; i < nprocs; i++)
        for (j = 0; j < counts[i]; j++)
            good &= gathered[displs[i] + j] == i;
    ok_all(good, "afterwards: allgatherv");
    free(gathered);
    free(counts);
    free(all);
}

int main(int argc, char **argv)
{
    int seconds, silent, peer, good = 1;
    const char *who;
    double took = 0;
    char what[160];

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    if (argc < 3 || argc > 4 || nprocs % 2 ||
        (strcmp(argv[1], "receiver") && strcmp(argv[1], "sender") && strcmp(argv[1], "crossed")) ||
        (argc == 4 && strcmp(argv[3], "odd") && strcmp(argv[3], "even"))) {
        if (rank == 0)
            fprintf(stderr, "usage: mpi_silent_test receiver|sender|crossed SECONDS [odd|even] "
                            "(an even number of ranks)\n");
        MPI_Finalize();
        return 2;
    }
    seconds = atoi(argv[2]);
    who = argc == 4 ? argv[3] : "odd";
    silent = rank % 2 == (strcmp(who, "odd") == 0);
    peer = rank ^ 1;
    if (silent)
        sleep((unsigned)seconds);

    if (strcmp(argv[1], "receiver") == 0) {
        if (silent)
            good = receive_from(peer);
        else
            took = send_to(peer);
    } else if (strcmp(argv[1], "sender") == 0) {
        if (silent)
            send_to(peer);
        else
            good = receive_from(peer);
    } else {
        uint8_t *out = message(EAGER, TAG_EAGER, rank);
        double start = now();

        MPI_Send(out, EAGER, MPI_BYTE, peer, TAG_EAGER, MPI_COMM_WORLD);
        took = silent ? 0 : now() - start;
        good = received(peer, EAGER, TAG_EAGER);
        free(out);
    }
    snprintf(what, sizeof(what), "%s (%s ranks) silent %d s: every message arrives intact",
             strcmp(argv[1], "crossed") ? argv[1] : "crossed eager sends, one rank", who, seconds);
    ok_all(good, what);
    /* An eager send does not wait for its receiver (a socket's buffer or
     * vader's FIFO takes it): half the silence is far more than it needs. */
    if (strcmp(argv[1], "sender") != 0) {
        MPI_Allreduce(MPI_IN_PLACE, &took, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        snprintf(what, sizeof(what), "eager sends to the silent peer returned in %.2f s", took);
        ok_all(took < seconds / 2.0, what);
    }
    afterwards(peer);
    MPI_Finalize();
    return rank == 0 ? tap_done() : 0;
}
