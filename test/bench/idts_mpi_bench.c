/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Two-rank MPI latency and bandwidth, in the manner of osu_latency and
 * osu_bw: latency is half the round trip of a blocking ping-pong; bandwidth
 * is a window of 64 non-blocking sends answered by one zero-byte message.
 * Prints "latency SIZE US" and "bandwidth SIZE MBPS" lines for
 * osu-config/compare to tabulate; every message's last byte is checked so a
 * broken transport cannot report figures.
 *
 * With -t SECONDS (test/xen, where tcp takes milliseconds per message) each
 * figure takes about SECONDS instead of a fixed count: 1 B to 4 MiB by
 * factors of 8 (and 1 MiB), latency and bandwidth at each size, a window of
 * at most 2 MiB in flight, the counts chosen from a timed warm-up, and each
 * figure is the median of the round trips (or windows) it timed.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW   64
#define MAX_SIZE (4 << 20)

static char *buf;
static int rank, quick;
static double budget; /* -t: seconds per figure, 0 for the fixed counts */

static void check(int size, const char *what)
{
    if (size > 0 && buf[size - 1] != (char)size) {
        fprintf(stderr, "idts_mpi_bench: %s: %d-byte message arrived corrupted\n", what, size);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
}

/* With a budget, how many of what took `took` seconds fit in it: rank 0's
 * answer, from MIN_TIMED (a median of one or two is a guess) to max. */
#define MIN_TIMED 5
static int fit(double took, int max)
{
    int n = took > 0 ? (int)(budget / took) : max;

    n = n < MIN_TIMED ? MIN_TIMED : n > max ? max : n;
    MPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return n;
}

static void ping_pong(int size)
{
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

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The median of n timings (sorts them). */
static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof(*t), by_value);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static void window_of(int size, int window)
{
    MPI_Request requests[WINDOW];
    int m;

    for (m = 0; m < window; m++) {
        if (rank == 0) {
            buf[size - 1] = (char)size;
            MPI_Isend(buf, size, MPI_CHAR, 1, 2, MPI_COMM_WORLD, &requests[m]);
        } else {
            MPI_Irecv(buf, size, MPI_CHAR, 0, 2, MPI_COMM_WORLD, &requests[m]);
        }
    }
    MPI_Waitall(window, requests, MPI_STATUSES_IGNORE);
    if (rank == 0)
        MPI_Recv(NULL, 0, MPI_CHAR, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    else
        MPI_Send(NULL, 0, MPI_CHAR, 0, 3, MPI_COMM_WORLD);
}

/* -t: repeat what `once` does for about the budget, after a timed warm-up
 * of `warmup` (at least 1) repetitions, and return the median time of one
 * repetition. On an emulated, shared machine a repetition now and then
 * waits for a vCPU for milliseconds: the median is what a repetition takes
 * when nothing else gets in the way. */
static double budgeted(void (*once)(int, int), int size, int arg, int warmup, int max)
{
    double start = MPI_Wtime(), *t, m;
    int i, n;

    for (i = 0; i < warmup; i++)
        once(size, arg);
    n = fit((MPI_Wtime() - start) / warmup, max);
    t = malloc((size_t)n * sizeof(*t));
    for (i = 0; i < n; i++) {
        start = MPI_Wtime();
        once(size, arg);
        t[i] = MPI_Wtime() - start;
    }
    m = median(t, n);
    free(t);
    return m;
}

static void ping_pong_of(int size, int unused)
{
    (void)unused;
    ping_pong(size);
}

static double latency(int size)
{
    int iterations = (size <= 8192 ? 10000 : 1000) / (quick ? 10 : 1), warmup = 1000, i;
    double start = 0;

    if (budget > 0) {
        double t = budgeted(ping_pong_of, size, 0, 3, 100000);

        check(size, "latency");
        return t * 1e6 / 2;
    }
    for (i = -warmup; i < iterations; i++) {
        if (i == 0)
            start = MPI_Wtime();
        ping_pong(size);
    }
    check(size, "latency");
    return (MPI_Wtime() - start) * 1e6 / iterations / 2;
}

static double bandwidth(int size)
{
    int windows = (size <= 65536 ? 100 : 20) / (quick ? 5 : 1), w;
    double start = 0;

    if (budget > 0) {
        /* At most 2 MiB in flight: tcp moves a few MB/s here. */
        int window = (2 << 20) / size;
        double t;

        window = window < 1 ? 1 : window > WINDOW ? WINDOW : window;
        t = budgeted(window_of, size, window, 1, 1000);
        if (rank == 1)
            check(size, "bandwidth");
        return (double)size * window / t / 1e6;
    }
    for (w = -2; w < windows; w++) {
        if (w == 0)
            start = MPI_Wtime();
        window_of(size, WINDOW);
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
    budget = argc > 2 && strcmp(argv[1], "-t") == 0 ? atof(argv[2]) : 0;
    if (nprocs != 2) {
        if (rank == 0)
            fprintf(stderr, "idts_mpi_bench: run it on exactly 2 ranks\n");
        MPI_Finalize();
        return 2;
    }
    buf = malloc(MAX_SIZE);
    memset(buf, 0, MAX_SIZE);
    if (budget > 0) {
        static const int sizes[] = {1, 8, 64, 512, 4096, 32768, 262144, 1 << 20, MAX_SIZE};
        size_t i;

        /* The first messages open the connection (a tunnel, its grants
         * mapped), which is no part of the first figure. */
        for (i = 0; i < 20; i++)
            ping_pong(8);
        for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            double us = latency(sizes[i]), mbps = bandwidth(sizes[i]);

            if (rank == 0) {
                printf("latency %d %.3f\nbandwidth %d %.3f\n", sizes[i], us, sizes[i], mbps);
                fflush(stdout);
            }
        }
        free(buf);
        MPI_Finalize();
        return 0;
    }
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
