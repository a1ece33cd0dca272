/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Two-rank MPI latency and bandwidth, in the manner of osu_latency and
 * osu_bw: latency is half the round trip of a blocking ping-pong; bandwidth
 * is a window of 64 non-blocking sends answered by one zero-byte message.
 * Prints "latency SIZE US" and "bandwidth SIZE MBPS" lines for
 * osu-config/compare to tabulate; every message's last byte is checked so a
 * broken transport cannot report figures.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW   64
#define MAX_SIZE (4 << 20)

static char *buf;
static int rank, quick;

static void check(int size, const char *what)
{
    if (size > 0 && buf[size - 1] != (char)size) {
        fprintf(stderr, "idts_mpi_bench: %s: %d-byte message arrived corrupted\n", what, size);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
}

static double latency(int size)
{
    int iterations = (size <= 8192 ? 10000 : 1000) / (quick ? 10 : 1), warmup = 1000, i;
    double start = 0;

    for (i = -warmup; i < iterations; i++) {
        if (i == 0)
            start = MPI_Wtime();
        if (rank == 0) {
            buf[size - 1] = (char)size;
            MPI_Send(buf, size, MPI_CHAR, 1, 1, MPI_COMM_WORLD);
            MPI_Recv(buf, size, MPI_CHAR, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(buf, size, MPI_CHAR, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            check(size, "latency");
            MPI_Send(buf, size, MPI_CHAR, 0, 1, MPI_COMM_WORLD);
        }
    }
    check(size, "latency");
    return (MPI_Wtime() - start) * 1e6 / iterations / 2;
}

static double bandwidth(int size)
{
    int windows = (size <= 65536 ? 100 : 20) / (quick ? 5 : 1), w, m;
    MPI_Request requests[WINDOW];
    double start = 0;

    for (w = -2; w < windows; w++) {
        if (w == 0)
            start = MPI_Wtime();
        for (m = 0; m < WINDOW; m++) {
            if (rank == 0) {
                buf[size - 1] = (char)size;
                MPI_Isend(buf, size, MPI_CHAR, 1, 2, MPI_COMM_WORLD, &requests[m]);
            } else {
                MPI_Irecv(buf, size, MPI_CHAR, 0, 2, MPI_COMM_WORLD, &requests[m]);
            }
        }
        MPI_Waitall(WINDOW, requests, MPI_STATUSES_IGNORE);
        if (rank == 0)
            MPI_Recv(NULL, 0, MPI_CHAR, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        else
            MPI_Send(NULL, 0, MPI_CHAR, 0, 3, MPI_COMM_WORLD);
    }
    if (rank == 1)
        check(size, "bandwidth");
    return (double)size * WINDOW * windows / (MPI_Wtime() - start) / 1e6;
}

int main(int argc, char **argv)
{
    int size, nprocs;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    quick = argc > 1 && strcmp(argv[1], "-q") == 0;
    if (nprocs != 2) {
        if (rank == 0)
            fprintf(stderr, "idts_mpi_bench: run it on exactly 2 ranks\n");
        MPI_Finalize();
        return 2;
    }
    buf = malloc(MAX_SIZE);
    memset(buf, 0, MAX_SIZE);
    for (size = 8; size <= 4096; size *= 2) {
        double us = latency(size);

        if (rank == 0)
            printf("latency %d %.3f\n", size, us);
    }
    for (size = 4096; size <= MAX_SIZE; size *= 4) {
        double mbps = bandwidth(size);

        if (rank == 0)
            printf("bandwidth %d %.0f\n", size, mbps);
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
