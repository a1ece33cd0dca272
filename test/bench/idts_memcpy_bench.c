/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * What copying costs on this machine, for osu-config/osu: the limits of a
 * stream that two cores carry in two copies (the sender's into a ring, the
 * receiver's out of it).
 *
 *   idts_memcpy_bench SIZE...   for each SIZE in bytes prints
 *     "memcpy SIZE MBPS"    one core copying one buffer to another 64 times
 *                           (osu_bw's window, from and to the same buffers
 *                           as osu_bw): what two copies pipelined on two
 *                           cores would reach if lines moved between the
 *                           cores as fast as within one;
 *     "pipeline SIZE MBPS"  two threads on two cores, one copying the 64
 *                           buffers into a 1 MiB ring of 16 KiB slots (as
 *                           idts's ring and rendezvous records), the other
 *                           copying them out: what two copies reach here
 *                           with no protocol at all. Only where the process
 *                           may use two cores.
 *   Each figure is the median of 21 windows, in OSU's unit (10^6 bytes per
 *   second).
 *
 * Each window's copy is checked, so a copy the compiler elides cannot report
 * a figure.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WINDOW    64
#define SAMPLES   21
#define SLOT_SIZE (16 * 1024)
#define SLOTS     64
#define CACHELINE 64
#define PAGE      4096

struct copy {
    unsigned char *src, *dst;
    size_t size;
    double figure[SAMPLES];
    int wrong; /* windows whose copy differed */
    /* The pipeline: its two CPUs, the ring, and one flag per slot, each on
     * a line of its own, 1 while the slot is full. */
    int cpu[2];
    unsigned char *ring;
    int *full;
    /* Window i starts when the consumer says go (i + 1) and the producer,
     * which owns the source as osu_bw's sender does, has written it (ready,
     * i + 1). Both sides spin: a sleep would cost a wake-up of a vCPU. */
    int go, ready;
};

#define FLAG_STRIDE (CACHELINE / sizeof(int))

static double seconds(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double mbps(size_t size, double took)
{
    return (double)size * WINDOW / took / 1e6;
}

/* Window i took from start to now: its figure, and whether it copied right. */
static void end_window(struct copy *c, int i, double start)
{
    c->figure[i] = mbps(c->size, seconds() - start);
    if (memcmp(c->dst, c->src, c->size) != 0)
        c->wrong++;
}

static void memcpy_windows(struct copy *c)
{
    int i, n;

    for (i = 0; i < SAMPLES; i++) {
        double start;

        memset(c->src, i + 1, c->size);
        start = seconds();
        for (n = 0; n < WINDOW; n++) {
            memcpy(c->dst, c->src, c->size);
            /* Each copy counts: the compiler may not merge them into one. */
            __asm__ volatile("" : : "r"(c->dst) : "memory");
        }
        end_window(c, i, start);
    }
}

/* Spin until *flag holds value. */
static void await(int *flag, int value)
{
    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != value)
        ;
}

static void pin(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* One side of the pipeline, for all windows: the producer copies into the
 * ring's slots, the consumer out of them and times and checks each window. */
static void pipeline_side(struct copy *c, int consumer)
{
    size_t slot = 0, at;
    int i, n;

    pin(c->cpu[consumer]);
    for (i = 0; i < SAMPLES; i++) {
        double start;

        if (consumer) {
            __atomic_store_n(&c->go, i + 1, __ATOMIC_RELEASE);
            await(&c->ready, i + 1);
        } else {
            await(&c->go, i + 1);
            memset(c->src, i + 1, c->size);
            __atomic_store_n(&c->ready, i + 1, __ATOMIC_RELEASE);
        }
        start = seconds();
        for (n = 0; n < WINDOW; n++)
            for (at = 0; at < c->size; at += SLOT_SIZE, slot = (slot + 1) % SLOTS) {
                size_t bytes = c->size - at < SLOT_SIZE ? c->size - at : SLOT_SIZE;
                int *full = &c->full[slot * FLAG_STRIDE];
                unsigned char *data = c->ring + slot * SLOT_SIZE;

                while (__atomic_load_n(full, __ATOMIC_ACQUIRE) == !consumer)
                    ;
                if (consumer)
                    memcpy(c->dst + at, data, bytes);
                else
                    memcpy(data, c->src + at, bytes);
                __atomic_store_n(full, !consumer, __ATOMIC_RELEASE);
            }
        if (consumer)
            end_window(c, i, start);
    }
}

static void *producer(void *arg)
{
    pipeline_side(arg, 0);
    return NULL;
}

/* The producer in a thread, the consumer in this one, which keeps its CPUs
 * for what comes after: 0, or 1 if the thread did not start. */
static int pipeline_windows(struct copy *c)
{
    cpu_set_t saved;
    pthread_t thread;

    if (pthread_create(&thread, NULL, producer, c) != 0)
        return 1;
    pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved);
    pipeline_side(c, 1);
    pthread_join(thread, NULL);
    pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
    return 0;
}

/* The first two CPUs this process may run on; 0 if it has only one. */
static int two_cpus(int cpu[2])
{
    cpu_set_t set;
    int i, found = 0;

    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 0;
    for (i = 0; i < CPU_SETSIZE && found < 2; i++)
        if (CPU_ISSET(i, &set))
            cpu[found++] = i;
    return found == 2;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Prints "NAME SIZE MEDIAN": 0, or 1 if a window copied wrong. */
static int report(const char *name, struct copy *c)
{
    if (c->wrong) {
        fprintf(stderr, "idts_memcpy_bench: %s: %d copies of %zu bytes differ\n", name, c->wrong,
                c->size);
        return 1;
    }
    qsort(c->figure, SAMPLES, sizeof(c->figure[0]), by_value);
    printf("%s %zu %.1f\n", name, c->size, c->figure[SAMPLES / 2]);
    return 0;
}

static int pipeline(struct copy *c)
{
    int failed;

    /* On a page, as shared rings are: a ring off a page's start by other
     * bytes than the buffers halves the copies (4 KiB aliasing). */
    c->ring = aligned_alloc(PAGE, (size_t)SLOT_SIZE * SLOTS);
    c->full = aligned_alloc(CACHELINE, SLOTS * CACHELINE);
    if (!c->ring || !c->full) {
        fprintf(stderr, "idts_memcpy_bench: no memory for a ring of %d bytes\n", SLOT_SIZE * SLOTS);
        failed = 1;
    } else {
        memset(c->full, 0, SLOTS * CACHELINE);
        failed = pipeline_windows(c);
        if (failed)
            fprintf(stderr, "idts_memcpy_bench: no thread for the pipeline's producer\n");
    }
    free(c->ring);
    free(c->full);
    return failed || report("pipeline", c);
}

static int measure(size_t size)
{
    struct copy c = {.size = size, .src = malloc(size), .dst = malloc(size)};
    int failed = 1;

    if (!c.src || !c.dst) {
        fprintf(stderr, "idts_memcpy_bench: no memory for two buffers of %zu bytes\n", size);
    } else {
        memcpy_windows(&c);
        failed = report("memcpy", &c);
        if (!failed && two_cpus(c.cpu))
            failed = pipeline(&c);
    }
    free(c.src);
    free(c.dst);
    return failed;
}

int main(int argc, char **argv)
{
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: idts_memcpy_bench SIZE...\n");
        return 2;
    }
    for (i = 1; i < argc; i++) {
        char *end;
        unsigned long long size = strtoull(argv[i], &end, 10);

        if (*end || size == 0 || size > (1ULL << 32)) {
            fprintf(stderr, "idts_memcpy_bench: %s: a size is a number of bytes, 1 to 2^32\n",
                    argv[i]);
            return 2;
        }
        if (measure((size_t)size))
            return 1;
    }
    return 0;
}
