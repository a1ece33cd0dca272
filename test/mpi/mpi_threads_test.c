/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * MPI_THREAD_MULTIPLE over whatever BTLs mpirun selects (test/mpi/mpi-check.sh
 * forces idts with --mca btl idts,self): several threads per rank send and
 * receive at once, eager and rendezvous sizes, blocking and nonblocking,
 *  - all threads on MPI_COMM_WORLD, each with a tag space of its own, as
 *    the job's first messages, so that threads race to open the tunnels,
 *  - each thread on a communicator of its own,
 *  - all threads on one communicator with ANY_SOURCE/ANY_TAG receives (and
 *    matched probes), which any thread of the destination may match: every
 *    message must be received exactly once, by some thread.
 * Every byte is checked; rank 0 prints one TAP line per check.
 *
 * Usage: mpi_threads_test [-t THREADS] [-r ROUNDS]
 */
#include <mpi.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS_MAX 16
#define HEADER      16 /* sender, thread, sequence number, size */

/* Around the eager limit (4 KiB with ob1's 14-byte header) and rendezvous. */
static const size_t sizes[] = {0, 1, 100, 4000, 4082, 4083, 5000, 65536, 300001, 1 << 20};
#define SIZES   (sizeof(sizes) / sizeof(sizes[0]))
#define LARGEST ((size_t)1 << 20)

static int rank, nprocs, threads = 4, rounds = 8, tap_count, tap_failed;
static MPI_Comm own[THREADS_MAX], shared, wild;
static int failures; /* this rank's, updated atomically */

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    char what[200];
    va_list ap;

    __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    fprintf(stderr, "mpi_threads_test: rank %d: %s\n", rank, what);
}

static void tap(int failed, const char *what)
{
    printf("%s %d - %s (%d ranks, %d threads each, %d failures)\n", failed ? "not ok" : "ok",
           ++tap_count, what, nprocs, threads, failed);
    fflush(stdout);
    tap_failed += failed != 0;
}

/* Every rank calls it; the check passes only if it passed everywhere. */
static void ok_all(const char *what)
{
    int total = 0, mine = __atomic_exchange_n(&failures, 0, __ATOMIC_RELAXED);

    MPI_Reduce(&mine, &total, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
        tap(total, what);
}

static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A message's bytes: its header, then words drawn from everything in it. */
static void fill(uint8_t *buf, size_t size, int sender, int thread, int seq)
{
    uint32_t header[4] = {(uint32_t)sender, (uint32_t)thread, (uint32_t)seq, (uint32_t)size};
    uint64_t key = mix(((uint64_t)sender << 48) ^ ((uint64_t)thread << 40) ^ (uint64_t)seq << 32 ^
                       size),
             word;
    size_t i;

    memcpy(buf, header, size < HEADER ? size : HEADER);
    for (i = HEADER; i < size; i += 8) {
        word = mix(key + i);
        memcpy(buf + i, &word, size - i < 8 ? size - i : 8);
    }
}

static int intact(const uint8_t *buf, size_t size, int sender, int thread, int seq,
                  uint8_t *scratch)
{
    fill(scratch, size, sender, thread, seq);
    return memcmp(buf, scratch, size) == 0;
}

/* ---------------------------------------------------------------- pairs */

struct thread_buffers {
    uint8_t *out, *in, *scratch; /* (nprocs - 1) * LARGEST each, scratch LARGEST */
};

static int buffers_alloc(struct thread_buffers *b)
{
    b->out = malloc((size_t)(nprocs - 1) * LARGEST);
    b->in = malloc((size_t)(nprocs - 1) * LARGEST);
    b->scratch = malloc(LARGEST);
    return b->out && b->in && b->scratch;
}

static void buffers_free(struct thread_buffers *b)
{
    free(b->out);
    free(b->in);
    free(b->scratch);
}

/* One size to and from every other rank, on comm with tag, blocking
 * (sendrecv with each peer in turn) or not (all at once). */
static void exchange(struct thread_buffers *b, MPI_Comm comm, int tag, int thread, int seq,
                     size_t size, int nonblocking)
{
    MPI_Request requests[2 * 64];
    int d, n = nprocs - 1;

    for (d = 1; d <= n; d++)
        fill(b->out + (d - 1) * LARGEST, size, rank, thread, seq);
    for (d = 1; d <= n; d++) {
        int to = (rank + d) % nprocs, from = (rank - d + nprocs) % nprocs;
        uint8_t *out = b->out + (d - 1) * LARGEST, *in = b->in + (d - 1) * LARGEST;

        if (nonblocking) {
            MPI_Irecv(in, (int)size, MPI_BYTE, from, tag, comm, &requests[2 * (d - 1)]);
            MPI_Isend(out, (int)size, MPI_BYTE, to, tag, comm, &requests[2 * (d - 1) + 1]);
        } else {
            MPI_Sendrecv(out, (int)size, MPI_BYTE, to, tag, in, (int)size, MPI_BYTE, from, tag,
                         comm, MPI_STATUS_IGNORE);
        }
    }
    if (nonblocking)
        MPI_Waitall(2 * n, requests, MPI_STATUSES_IGNORE);
    for (d = 1; d <= n; d++) {
        int from = (rank - d + nprocs) % nprocs;

        if (!intact(b->in + (d - 1) * LARGEST, size, from, thread, seq, b->scratch))
            fail("%zu-byte message %d of thread %d from %d arrived corrupted", size, seq, thread,
                 from);
    }
}

/* Thread t's rounds with its peers' thread t: on its own communicator, or
 * on the shared one with tags of its own. */
static void *pairs(void *arg)
{
    int t = (int)(intptr_t)arg, r;
    size_t z;
    struct thread_buffers b;
    MPI_Comm comm = shared == MPI_COMM_NULL ? own[t] : shared;

    if (!buffers_alloc(&b)) {
        fail("thread %d: out of memory", t);
        return NULL;
    }
    for (r = 0; r < rounds; r++)
        for (z = 0; z < SIZES; z++)
            exchange(&b, comm, t * (int)SIZES + (int)z, t, r * (int)SIZES + (int)z, sizes[z],
                     (r + (int)z + t) % 2);
    buffers_free(&b);
    return NULL;
}

static void run_threads(void *(*body)(void *))
{
    pthread_t tid[THREADS_MAX];
    int t;

    for (t = 0; t < threads; t++)
        if (pthread_create(&tid[t], NULL, body, (void *)(intptr_t)t)) {
            fprintf(stderr, "mpi_threads_test: cannot start a thread\n");
            MPI_Abort(MPI_COMM_WORLD, 3);
        }
    for (t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
}

/* ---------------------------------------------------------------- wildcards */

/* Message k of each thread goes to the k-th next rank, tagged k. */
static int wild_messages(void)
{
    return rounds * (int)SIZES * (nprocs - 1);
}

static int wild_dest(int sender, int k)
{
    return (sender + 1 + k % (nprocs - 1)) % nprocs;
}

static size_t wild_size(int k)
{
    size_t size = sizes[(k / (nprocs - 1)) % SIZES];

    return size < HEADER ? HEADER : size; /* the header says who sent it */
}

static int wild_owed, wild_claimed;
static uint8_t *wild_seen; /* [sender][thread][k] */

static void wild_received(const uint8_t *data, const MPI_Status *status, uint8_t *scratch)
{
    uint32_t header[4];
    int count = 0, s, t, k;

    MPI_Get_count(status, MPI_BYTE, &count);
    memcpy(header, data, HEADER);
    s = (int)header[0];
    t = (int)header[1];
    k = (int)header[2];
    if (count < HEADER || s != status->MPI_SOURCE || t >= threads || k >= wild_messages() ||
        k != status->MPI_TAG || wild_dest(s, k) != rank || (size_t)count != wild_size(k) ||
        !intact(data, (size_t)count, s, t, k, scratch)) {
        fail("a wildcard receive got a bad message from %d (tag %d, %d bytes, header %u %u %u)",
             status->MPI_SOURCE, status->MPI_TAG, count, header[0], header[1], header[2]);
        return;
    }
    if (__atomic_exchange_n(&wild_seen[((size_t)s * threads + t) * wild_messages() + k], 1,
                            __ATOMIC_RELAXED))
        fail("message %d of thread %d from %d arrived twice", k, t, s);
}

/* Send this thread's messages, and receive while the rank is owed any: a
 * claim makes sure the threads post as many receives as messages come. */
static void *wildcards(void *arg)
{
    int t = (int)(intptr_t)arg, n = wild_messages(), k, claim;
    MPI_Request *requests = malloc(n * sizeof(*requests));
    uint8_t *in = malloc(LARGEST), *scratch = malloc(LARGEST), **bufs = malloc(n * sizeof(*bufs));

    if (!requests || !in || !scratch || !bufs) {
        fail("thread %d: out of memory", t);
        return NULL;
    }
    for (k = 0; k < n; k++) {
        bufs[k] = malloc(wild_size(k));
        fill(bufs[k], wild_size(k), rank, t, k);
        MPI_Isend(bufs[k], (int)wild_size(k), MPI_BYTE, wild_dest(rank, k), k, wild, &requests[k]);
    }
    while ((claim = __atomic_fetch_add(&wild_claimed, 1, __ATOMIC_RELAXED)) < wild_owed) {
        MPI_Status status;
        MPI_Message message;
        int count;

        if (claim % 2) {
            MPI_Recv(in, (int)LARGEST, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, wild, &status);
        } else {
            MPI_Mprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, wild, &message, &status);
            MPI_Get_count(&status, MPI_BYTE, &count);
            MPI_Mrecv(in, count, MPI_BYTE, &message, &status);
        }
        wild_received(in, &status, scratch);
    }
    MPI_Waitall(n, requests, MPI_STATUSES_IGNORE);
    for (k = 0; k < n; k++)
        free(bufs[k]);
    free(bufs);
    free(requests);
    free(in);
    free(scratch);
    return NULL;
}

static void test_wildcards(void)
{
    int n = wild_messages(), s, t, k, missing = 0;
    size_t slots = (size_t)nprocs * threads * n;

    wild_seen = calloc(slots, 1);
    wild_owed = wild_claimed = 0;
    for (s = 0; s < nprocs; s++)
        for (k = 0; k < n; k++)
            wild_owed += s != rank && wild_dest(s, k) == rank ? threads : 0;
    run_threads(wildcards);
    for (s = 0; s < nprocs; s++)
        for (t = 0; t < threads; t++)
            for (k = 0; k < n; k++)
                missing += s != rank && wild_dest(s, k) == rank &&
                           !wild_seen[((size_t)s * threads + t) * n + k];
    if (missing)
        fail("%d messages never arrived", missing);
    free(wild_seen);
    ok_all("ANY_SOURCE/ANY_TAG receives and matched probes on a shared communicator: every "
           "message once, intact");
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    int provided, c, t;

    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    while ((c = getopt(argc, argv, "t:r:")) != -1) {
        if (c == 't')
            threads = atoi(optarg);
        else if (c == 'r')
            rounds = atoi(optarg);
    }
    if (threads < 1 || threads > THREADS_MAX || rounds < 1 || nprocs < 2 || nprocs > 64) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np 2..64 mpi_threads_test [-t 1..%d] [-r ROUNDS]\n",
                    THREADS_MAX);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    /* Checked without a message: the first ones are the threads' own. */
    if (provided != MPI_THREAD_MULTIPLE) {
        fprintf(stderr, "mpi_threads_test: rank %d: MPI_Init_thread provided level %d\n", rank,
                provided);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0)
        tap(0, "MPI_Init_thread provides MPI_THREAD_MULTIPLE on every rank");

    /* The job's first messages: the threads race to open the tunnels. */
    shared = MPI_COMM_WORLD;
    run_threads(pairs);
    ok_all("all threads on MPI_COMM_WORLD, a tag space each, opening the tunnels: intact");

    for (t = 0; t < threads; t++)
        MPI_Comm_dup(MPI_COMM_WORLD, &own[t]);
    shared = MPI_COMM_NULL;
    run_threads(pairs);
    ok_all("each thread on its own communicator: eager and rendezvous, blocking and not, intact");

    MPI_Comm_dup(MPI_COMM_WORLD, &wild);
    test_wildcards();

    for (t = 0; t < threads; t++)
        MPI_Comm_free(&own[t]);
    MPI_Comm_free(&wild);
    if (rank == 0)
        printf("1..%d\n", tap_count);
    MPI_Finalize();
    return rank == 0 && tap_failed ? 1 : 0;
}
