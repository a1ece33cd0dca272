/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * MPI jobs for test/xen/across-domus, whose ranks run in different Xen domUs.
 * Every message is checked, 8 bytes at a time.
 *
 *   mpi_domus stream SIZE SECONDS      (2 ranks)
 *       Rank 0 sends rank 1 messages of SIZE bytes (a multiple of 8). After
 *       20 of them rank 0 prints "stream: streaming"; after SECONDS (0:
 *       never; the job then ends when a rank or its domain dies) both stop
 *       and rank 0 prints "stream: N messages of SIZE bytes, B corrupted".
 *       Exit status 0 if none was.
 *   mpi_domus middle SECONDS STOPFILE  (3 ranks)
 *       Ranks 0 and 2 each ping-pong 1 KiB messages with rank 1, never with
 *       each other, until rank 1 finds STOPFILE or SECONDS pass. Rank 1
 *       prints "middle: exchanging" after the first round and at the end
 *       "middle: N rounds, B bad messages". Exit status 0 if none was bad.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { TAG_STREAM = 1, TAG_TOKEN, TAG_ANSWER, TAG_RESULT };
#define PAYLOAD 1032 /* a flag byte, then 1 KiB of words */

static int rank;

/* Message contents, 8 bytes at a time (emulated CPUs are slow): word i of
 * a message seeded s. */
static uint64_t word(uint64_t seed, size_t i)
{
    return (seed + 1) * 0x9e3779b97f4a7c15u ^ (i * 0x100000001b3u + seed);
}

static void fill(uint8_t *buf, size_t size, uint64_t seed)
{
    size_t i;

    for (i = 0; i < size / 8; i++) {
        uint64_t w = word(seed, i);

        memcpy(buf + 8 * i, &w, 8);
    }
}

static int intact(const uint8_t *buf, size_t size, uint64_t seed)
{
    size_t i;

    for (i = 0; i < size / 8; i++) {
        uint64_t w;

        memcpy(&w, buf + 8 * i, 8);
        if (w != word(seed, i))
            return 0;
    }
    return 1;
}

/* A message's first 8 bytes are its index, or UINT64_MAX for "stop"; the
 * rest follows from the index. */
static int stream(size_t size, double seconds)
{
    uint8_t *buf = malloc(size);
    double until = MPI_Wtime() + seconds;
    uint64_t i, index;
    long corrupted = 0;

    if (!buf || size < sizeof(index) || size % 8) {
        fprintf(stderr, "mpi_domus: stream: SIZE must be a multiple of 8 bytes\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    for (i = 0;; i++) {
        if (rank == 0) {
            index = seconds > 0 && MPI_Wtime() > until ? UINT64_MAX : i;
            memcpy(buf, &index, sizeof(index));
            fill(buf + sizeof(index), size - sizeof(index), index);
            MPI_Send(buf, (int)size, MPI_BYTE, 1, TAG_STREAM, MPI_COMM_WORLD);
            if (i == 20) {
                printf("stream: streaming\n");
                fflush(stdout);
            }
        } else {
            memset(buf, 0, size);
            MPI_Recv(buf, (int)size, MPI_BYTE, 0, TAG_STREAM, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            memcpy(&index, buf, sizeof(index));
            corrupted += (index != i && index != UINT64_MAX) ||
                         !intact(buf + sizeof(index), size - sizeof(index), index);
        }
        if (index == UINT64_MAX)
            break;
    }
    MPI_Bcast(&corrupted, 1, MPI_LONG, 1, MPI_COMM_WORLD);
    if (rank == 0)
        printf("stream: %llu messages of %zu bytes, %ld corrupted\n", (unsigned long long)i, size,
               corrupted);
    free(buf);
    return corrupted != 0;
}

/* Byte 0 of a message is a flag (an answer's: go on), the rest follows
 * from the round and the pair. At the end ranks 0 and 2 tell rank 1 how
 * many messages they found bad: they never talk to each other. */
static int middle(double seconds, const char *stopfile)
{
    uint8_t out[PAYLOAD], in[PAYLOAD];
    double until = MPI_Wtime() + seconds;
    long rounds = 0, bad = 0, theirs;
    int go = 1, peer;

    while (go) {
        if (rank == 1) {
            go = MPI_Wtime() < until && access(stopfile, F_OK) != 0;
            for (peer = 0; peer <= 2; peer += 2) {
                MPI_Recv(in, sizeof(in), MPI_BYTE, peer, TAG_TOKEN, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE);
                bad += in[0] != 0 || !intact(in + 8, sizeof(in) - 8, (uint64_t)(rounds * 4 + peer));
                out[0] = (uint8_t)go;
                fill(out + 8, sizeof(out) - 8, (uint64_t)(rounds * 4 + peer + 1));
                MPI_Send(out, sizeof(out), MPI_BYTE, peer, TAG_ANSWER, MPI_COMM_WORLD);
            }
            if (rounds == 0) {
                printf("middle: exchanging\n");
                fflush(stdout);
            }
        } else {
            out[0] = 0;
            fill(out + 8, sizeof(out) - 8, (uint64_t)(rounds * 4 + rank));
            MPI_Send(out, sizeof(out), MPI_BYTE, 1, TAG_TOKEN, MPI_COMM_WORLD);
            MPI_Recv(in, sizeof(in), MPI_BYTE, 1, TAG_ANSWER, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            go = in[0];
            bad += go > 1 || !intact(in + 8, sizeof(in) - 8, (uint64_t)(rounds * 4 + rank + 1));
        }
        rounds++;
    }
    if (rank != 1) {
        MPI_Send(&bad, 1, MPI_LONG, 1, TAG_RESULT, MPI_COMM_WORLD);
        return 0;
    }
    for (peer = 0; peer <= 2; peer += 2) {
        MPI_Recv(&theirs, 1, MPI_LONG, peer, TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        bad += theirs;
    }
    printf("middle: %ld rounds, %ld bad messages\n", rounds, bad);
    return bad != 0;
}

int main(int argc, char **argv)
{
    int nprocs, rc = 2;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    if (argc == 4 && strcmp(argv[1], "stream") == 0 && nprocs == 2)
        rc = stream((size_t)atol(argv[2]), atof(argv[3]));
    else if (argc == 4 && strcmp(argv[1], "middle") == 0 && nprocs == 3)
        rc = middle(atof(argv[2]), argv[3]);
    else if (rank == 0)
        fprintf(stderr, "usage: mpi_domus stream SIZE SECONDS    (2 ranks)\n"
                        "       mpi_domus middle SECONDS STOPFILE (3 ranks)\n");
    MPI_Finalize();
    return rc;
}
