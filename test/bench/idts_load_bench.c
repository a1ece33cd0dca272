/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Oversubscribed load, for osu-config/load: more ranks than cores.
 *
 *   idts_load_bench load SECONDS   every rank repeats an all-to-all of 1 KiB
 *                                  blocks and a 64 KiB exchange with both ring
 *                                  neighbours; rank 0 prints "load RANKS
 *                                  ROUNDS_PER_SECOND"
 *   idts_load_bench idle SECONDS   rank 1 waits in MPI_Recv while rank 0
 *                                  sleeps, the other ranks in a barrier; rank 1
 *                                  prints "idle PERCENT", the CPU its thread
 *                                  used while it waited
 *   idts_load_bench pingpong SECONDS  ranks 0 and 1 send 8 bytes back and
 *                                  forth, the others wait in a barrier; rank 0
 *                                  prints "pingpong MICROSECONDS", half the
 *                                  round trip (what a sleeping BTL costs
 *                                  another one, when it is the one carrying)
 *
 * Every message is checked, so a broken transport cannot report figures.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 1024
#define RING  (64 * 1024)

static int rank, nprocs;

static void die(const char *what)
{
    fprintf(stderr, "idts_load_bench: rank %d: %s\n", rank, what);
    MPI_Abort(MPI_COMM_WORLD, 2);
}

static void fill(unsigned char *buf, size_t size, int from, int to, long round)
{
    size_t i;

    for (i = 0; i < size; i++)
        buf[i] = (unsigned char)(i + (size_t)from * 7 + (size_t)to * 13 + (size_t)round);
}

static int intact(const unsigned char *buf, size_t size, int from, int to, long round)
{
    size_t i;

    for (i = 0; i < size; i++)
        if (buf[i] != (unsigned char)(i + (size_t)from * 7 + (size_t)to * 13 + (size_t)round))
            return 0;
    return 1;
}

static void one_round(unsigned char *out, unsigned char *in, unsigned char *ring_out,
                      unsigned char *ring_in, long round)
{
    int peer, right = (rank + 1) % nprocs, left = (rank + nprocs - 1) % nprocs;

    for (peer = 0; peer < nprocs; peer++)
        fill(out + (size_t)peer * BLOCK, BLOCK, rank, peer, round);
    MPI_Alltoall(out, BLOCK, MPI_BYTE, in, BLOCK, MPI_BYTE, MPI_COMM_WORLD);
    for (peer = 0; peer < nprocs; peer++)
        if (!intact(in + (size_t)peer * BLOCK, BLOCK, peer, rank, round))
            die("all-to-all block arrived corrupted");
    fill(ring_out, RING, rank, right, round);
    MPI_Sendrecv(ring_out, RING, MPI_BYTE, right, 1, ring_in, RING, MPI_BYTE, left, 1,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (!intact(ring_in, RING, left, rank, round))
        die("ring message arrived corrupted");
}

static void load(double seconds)
{
    unsigned char *out = malloc((size_t)nprocs * BLOCK), *in = malloc((size_t)nprocs * BLOCK);
    unsigned char *ring_out = malloc(RING), *ring_in = malloc(RING);
    double start, elapsed = 0;
    long rounds = 0;

    if (!out || !in || !ring_out || !ring_in)
        die("out of memory");
    one_round(out, in, ring_out, ring_in, -1);
    MPI_Barrier(MPI_COMM_WORLD);
    start = MPI_Wtime();
    /* Rank 0's clock decides, so that every rank runs the same rounds. */
    while (elapsed < seconds) {
        one_round(out, in, ring_out, ring_in, rounds++);
        if (rounds % 16 == 0) {
            elapsed = MPI_Wtime() - start;
            MPI_Bcast(&elapsed, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        }
    }
    if (rank == 0)
        printf("load %d %.1f\n", nprocs, rounds / elapsed);
    free(out);
    free(in);
    free(ring_out);
    free(ring_in);
}

static double thread_cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void idle(double seconds)
{
    int token = 0;

    if (nprocs < 2)
        die("idle needs 2 ranks or more");
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        usleep((useconds_t)(seconds * 1e6));
        token = 42;
        MPI_Send(&token, 1, MPI_INT, 1, 2, MPI_COMM_WORLD);
    } else if (rank == 1) {
        double cpu = thread_cpu_seconds(), wall = MPI_Wtime();

        MPI_Recv(&token, 1, MPI_INT, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        cpu = thread_cpu_seconds() - cpu;
        wall = MPI_Wtime() - wall;
        if (token != 42)
            die("the token arrived corrupted");
        printf("idle %.1f\n", 100 * cpu / wall);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

static void pingpong(double seconds)
{
    char token[8] = "pingpong";
    double start, elapsed = 0;
    long trips = 0;

    MPI_Barrier(MPI_COMM_WORLD);
    start = MPI_Wtime();
    while (rank < 2 && elapsed < seconds) {
        if (rank == 0) {
            MPI_Send(token, sizeof(token), MPI_CHAR, 1, 3, MPI_COMM_WORLD);
            MPI_Recv(token, sizeof(token), MPI_CHAR, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            elapsed = ++trips % 64 ? elapsed : MPI_Wtime() - start;
        } else {
            MPI_Recv(token, sizeof(token), MPI_CHAR, 0, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(token, sizeof(token), MPI_CHAR, 0, 3, MPI_COMM_WORLD);
            elapsed = token[0] == 'e' ? seconds : 0;
        }
        if (rank == 0 && elapsed >= seconds)
            token[0] = 'e';
    }
    if (memcmp(token + 1, "ingpong", 7) != 0)
        die("the ping-pong token arrived corrupted");
    if (rank == 0) {
        /* The last round trip tells rank 1 to stop. */
        MPI_Send(token, sizeof(token), MPI_CHAR, 1, 3, MPI_COMM_WORLD);
        MPI_Recv(token, sizeof(token), MPI_CHAR, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        printf("pingpong %.2f\n", (MPI_Wtime() - start) * 1e6 / (trips + 1) / 2);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char **argv)
{
    double seconds = argc > 2 ? atof(argv[2]) : 3;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    if (argc < 2 || seconds <= 0 ||
        (strcmp(argv[1], "load") && strcmp(argv[1], "idle") && strcmp(argv[1], "pingpong"))) {
        if (rank == 0)
            fprintf(stderr, "usage: idts_load_bench load|idle|pingpong [SECONDS]\n");
        MPI_Finalize();
        return 2;
    }
    if (strcmp(argv[1], "load") == 0)
        load(seconds);
    else if (strcmp(argv[1], "idle") == 0)
        idle(seconds);
    else
        pingpong(seconds);
    MPI_Finalize();
    return 0;
}
