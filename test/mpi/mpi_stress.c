/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Integrity at volume: a million messages (by default) of random sizes, tags,
 * destinations and send modes between all ranks, every byte checked.
 *
 * The schedule is a pure function of the seed: message i of sender s has its
 * destination, tag, size, send mode and contents drawn from hash(seed, s, i),
 * so every receiver knows what it is owed. Messages go in batches of random
 * length. All ranks receive a batch in the same style: receives preposted by
 * source and tag or by source alone, wildcard receives (a window of them, or
 * blocking ones), or probes (blocking, polled, matched). MPI's non-overtaking
 * rule then fixes which message each receive must get: a receive that gets
 * another, a byte that differs, a message nobody is owed, or one that never
 * comes (the watchdog) is counted and reported.
 *
 * A message is its sender and index, its tag and size (16 bytes, cut short
 * in smaller messages), then a slice of a random pool, the same on every
 * rank, at an offset drawn from its hash: a flipped, lost or misplaced byte,
 * or another message's bytes, differ from what the receiver expects.
 *
 * Rank 0 prints the seed first, then TAP lines and the figures.
 */
#include <mpi.h>

#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpi_stress_wraps.h"

enum send_mode { SEND, ISEND, SSEND, ISSEND };
enum style { BY_TAG, BY_SOURCE, WILDCARD_WINDOW, WILDCARD_BLOCKING, PROBE, STYLES };
enum size_class { TINY, EAGER, MID, LARGE, CLASSES };

static const char *const style_names[STYLES] = {"by source and tag", "by source, any tag",
                                                "wildcard window", "blocking wildcard", "probe"};
static const char *const class_names[CLASSES] = {"tiny", "eager", "mid", "large"};

#define HEADER_BYTES 16
#define POOL_SPAN    (4u << 20) /* offsets into the pool are drawn from this */
#define GUARD_BYTES  64
#define GUARD_BYTE   0xa5
#define WINDOW_MAX   64
#define WINDOW_BYTES (64u << 20) /* a wildcard window's buffers, at most */
#define MAX_TAG      32767       /* every MPI allows this one */
#define REPORTS_MAX  10

/* -F: rank 0 breaks one of its tiny messages on purpose, to show that the
 * checks catch it: flips a bit, drops it, or sends it twice. */
enum fault { NO_FAULT, FLIP, DROP, TWICE };

struct options {
    uint64_t messages, seed;
    size_t max_size;
    unsigned max_batch, timeout;
    enum fault fault;
};

struct message {
    int sender, dest, tag;
    uint64_t index;
    size_t size, pool_offset;
    unsigned shift; /* the buffer starts this many bytes past an aligned one */
    enum size_class class;
    enum send_mode mode;
};

/* What a batch owes this rank, grouped by sender in sending order. */
struct batch {
    uint64_t number;
    enum style style;
    struct message *out, *in;
    int n_out, n_in;
    int *first, *count, *next; /* per sender: its messages in in[] */
    size_t largest_in;
};

/* Totals, summed over ranks at the end. */
enum counter {
    SENT,
    SENT_BYTES,
    RECEIVED,
    RECEIVED_BYTES,
    CORRUPTED,
    UNEXPECTED,
    LEFT_OVER,
    CLASS_COUNT,
    STYLE_COUNT = CLASS_COUNT + CLASSES,
    COUNTERS = STYLE_COUNT + STYLES,
};

static struct options opt = {1000000, 0, 4u << 20, 512, 120, NO_FAULT};
static int rank, nprocs, reports;
static uint64_t counters[COUNTERS];
static uint8_t *pool;
static MPI_Comm comm;

/* splitmix64: a fast, well-mixed generator of 64-bit values. */
static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t next(uint64_t *state)
{
    return mix(*state += 0x9e3779b97f4a7c15ull);
}

static uint64_t hash3(uint64_t a, uint64_t b, uint64_t c)
{
    return mix(mix(mix(a) ^ b) ^ c);
}

/* Uniform in [lo, hi] (hi >= lo). */
static size_t between(uint64_t *rng, size_t lo, size_t hi)
{
    return lo + (size_t)(next(rng) % (hi - lo + 1));
}

/* Spread over [lo, hi] evenly by powers of two, so that large messages are
 * as often 100 KiB as 3 MiB and the bytes moved stay reasonable. */
static size_t log_uniform(uint64_t *rng, size_t lo, size_t hi)
{
    size_t low = lo, high;
    unsigned brackets = 1, steps;

    if (hi <= lo)
        return lo;
    for (high = lo; high * 2 <= hi; high *= 2)
        brackets++;
    for (steps = (unsigned)(next(rng) % brackets); steps > 0; steps--)
        low *= 2;
    high = low * 2 - 1 < hi ? low * 2 - 1 : hi;
    return between(rng, low, high);
}

/* 70% tiny (0..256 B), 20% eager (to 4 KiB), 8.5% mid (to 64 KiB: eager up
 * to idts's limit, 32 KiB less ob1's header, RGET above), 1.5% large (to
 * max_size): about 16 KiB per message on average. */
static size_t draw_size(uint64_t *rng, enum size_class *class)
{
    unsigned per_mille = (unsigned)(next(rng) % 1000);
    size_t max = opt.max_size;

    *class = per_mille < 700 ? TINY : per_mille < 900 ? EAGER : per_mille < 985 ? MID : LARGE;
    switch (*class) {
    case TINY:
        return between(rng, 0, max < 256 ? max : 256);
    case EAGER:
        return max < 4096 ? between(rng, 0, max) : between(rng, 257, 4096);
    case MID:
        return max < 65536 ? between(rng, 0, max) : log_uniform(rng, 4097, 65536);
    default:
        return max <= 65536 ? between(rng, 0, max) : log_uniform(rng, 65537, max);
    }
}

static void describe(int sender, uint64_t index, struct message *m)
{
    uint64_t rng = hash3(opt.seed, (uint64_t)sender, index);
    unsigned mode = (unsigned)(next(&rng) % 100);

    m->sender = sender;
    m->index = index;
    m->dest = (sender + 1 + (int)(next(&rng) % (uint64_t)(nprocs - 1))) % nprocs;
    m->tag = (int)(next(&rng) % (MAX_TAG + 1));
    m->size = draw_size(&rng, &m->class);
    m->pool_offset = (size_t)(next(&rng) % POOL_SPAN);
    m->shift = (unsigned)(next(&rng) % 8);
    m->mode = mode < 35 ? SEND : mode < 85 ? ISEND : mode < 90 ? SSEND : ISSEND;
}

static void header_of(const struct message *m, uint8_t header[HEADER_BYTES])
{
    uint64_t words[2] = {(uint64_t)m->sender << 48 | m->index, (uint64_t)m->tag << 40 | m->size};

    memcpy(header, words, HEADER_BYTES);
}

static void fill(uint8_t *data, const struct message *m)
{
    uint8_t header[HEADER_BYTES];

    header_of(m, header);
    memcpy(data, header, m->size < HEADER_BYTES ? m->size : HEADER_BYTES);
    if (m->size > HEADER_BYTES)
        memcpy(data + HEADER_BYTES, pool + m->pool_offset + HEADER_BYTES, m->size - HEADER_BYTES);
}

/* The offset of the first byte that differs from what m carries, or -1. */
static long first_difference(const uint8_t *data, const struct message *m)
{
    uint8_t header[HEADER_BYTES];
    size_t i, head = m->size < HEADER_BYTES ? m->size : HEADER_BYTES;

    header_of(m, header);
    for (i = 0; i < head; i++)
        if (data[i] != header[i])
            return (long)i;
    if (m->size > HEADER_BYTES &&
        memcmp(data + HEADER_BYTES, pool + m->pool_offset + HEADER_BYTES, m->size - HEADER_BYTES))
        for (i = HEADER_BYTES; i < m->size; i++)
            if (data[i] != pool[m->pool_offset + i])
                return (long)i;
    return -1;
}

/* A buffer for m's bytes at m->shift past an aligned start, with a guard. */
static uint8_t *buffer_for(const struct message *m, size_t size, uint8_t **base)
{
    *base = malloc(size + m->shift + GUARD_BYTES);
    if (!*base) {
        fprintf(stderr, "mpi_stress: out of memory for %zu bytes\n", size);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    memset(*base + m->shift + size, GUARD_BYTE, GUARD_BYTES);
    return *base + m->shift;
}

static int guard_intact(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < GUARD_BYTES; i++)
        if (data[size + i] != GUARD_BYTE)
            return 0;
    return 1;
}

__attribute__((format(printf, 3, 4))) static void
complain(const struct batch *b, const struct message *m, const char *fmt, ...)
{
    char what[160];
    va_list ap;

    counters[CORRUPTED]++;
    if (reports++ >= REPORTS_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    fprintf(stderr,
            "mpi_stress: rank %d, batch %" PRIu64 " (%s): message %" PRIu64
            " from %d (tag %d, %zu bytes): %s\n",
            rank, b->number, style_names[b->style], m->index, m->sender, m->tag, m->size, what);
}

/* Check a received message against m, the one it must be. */
static void check(const struct batch *b, const struct message *m, const uint8_t *data,
                  const MPI_Status *status, int guarded)
{
    uint64_t words[2] = {0, 0}; /* sender << 48 | index, tag << 40 | size */
    int count = -1;
    long at;

    MPI_Get_count(status, MPI_BYTE, &count);
    memcpy(words, data,
           count >= 0 && (size_t)count < sizeof(words) ? (size_t)count : sizeof(words));
    if (status->MPI_SOURCE != m->sender || status->MPI_TAG != m->tag || count != (int)m->size) {
        complain(b, m, "got one from %d, tag %d, %d bytes, header %#" PRIx64 " %#" PRIx64,
                 status->MPI_SOURCE, status->MPI_TAG, count, words[0], words[1]);
        return;
    }
    at = first_difference(data, m);
    if (at >= 0) {
        complain(b, m, "byte %ld differs (header %#" PRIx64 " %#" PRIx64 ")", at, words[0],
                 words[1]);
        return;
    }
    if (guarded && !guard_intact(data, m->size)) {
        complain(b, m, "bytes written past the end of the receive buffer");
        return;
    }
    counters[RECEIVED]++;
    counters[RECEIVED_BYTES] += m->size;
}

/* A wildcard receive got a message from status's source: by non-overtaking
 * it is that sender's next one. */
static void check_any(struct batch *b, const uint8_t *data, const MPI_Status *status, int guarded)
{
    int s = status->MPI_SOURCE;

    if (s < 0 || s >= nprocs || b->next[s] == b->first[s] + b->count[s]) {
        counters[UNEXPECTED]++;
        if (reports++ < REPORTS_MAX)
            fprintf(stderr,
                    "mpi_stress: rank %d, batch %" PRIu64 ": a message nobody owes us "
                    "from %d, tag %d\n",
                    rank, b->number, s, status->MPI_TAG);
        return;
    }
    check(b, &b->in[b->next[s]++], data, status, guarded);
}

/* ---------------------------------------------------------------- watchdog */

static char stuck[200];
static volatile sig_atomic_t received_in_batch;

static void watchdog(int signal)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "%d received\n", (int)received_in_batch);

    (void)signal;
    /* write() only: nothing else is safe in a signal handler. */
    if (write(STDERR_FILENO, stuck, strlen(stuck)) < 0 || write(STDERR_FILENO, line, n) < 0)
        _exit(4);
    _exit(4);
}

static void arm_watchdog(const struct batch *b)
{
    snprintf(stuck, sizeof(stuck),
             "mpi_stress: rank %d: no progress for %u s in batch %" PRIu64
             " (%s, %d messages owed): lost messages or a hang; ",
             rank, opt.timeout, b->number, style_names[b->style], b->n_in);
    received_in_batch = 0;
    alarm(opt.timeout);
}

/* ---------------------------------------------------------------- sending */

/* Whether m is the message -F breaks: rank 0's first tiny one past the
 * middle of its messages. Batches then take wildcard receives, which end in
 * a barrier, so nothing of the next batch can match the receive a lost
 * message leaves waiting. Where receives are preposted, later messages
 * would: one larger than its receive is a truncation, and ob1 (4.1.4) moves
 * a truncated RGET message whole into the smaller buffer, whatever the BTL,
 * corrupting the receiver's heap before anything can report the loss. */
static int fault_due(const struct message *m)
{
    static int done;

    if (done || opt.fault == NO_FAULT || rank != 0 || m->class != TINY || m->size == 0 ||
        m->index < opt.messages / (2 * (uint64_t)nprocs))
        return 0;
    done = 1;
    fprintf(stderr, "mpi_stress: -F: breaking message %" PRIu64 " to %d on purpose\n", m->index,
            m->dest);
    return 1;
}

/* Break m as -F says; 0 if it is not to be sent at all. */
static int break_message(const struct message *m, uint8_t *data)
{
    if (opt.fault == FLIP)
        data[m->size / 2] ^= 0x10;
    else if (opt.fault == TWICE) /* tiny, so eager: MPI_Send returns at once */
        MPI_Send(data, (int)m->size, MPI_BYTE, m->dest, m->tag, comm);
    return opt.fault != DROP;
}

static void send_all(struct batch *b, int may_block, MPI_Request *requests, uint8_t **bases)
{
    for (int k = 0; k < b->n_out; k++) {
        const struct message *m = &b->out[k];
        uint8_t *data = buffer_for(m, m->size, &bases[k]);
        enum send_mode mode = m->mode;

        fill(data, m);
        if (!may_block)
            mode = mode == SEND ? ISEND : mode == SSEND ? ISSEND : mode;
        requests[k] = MPI_REQUEST_NULL;
        counters[SENT]++;
        counters[SENT_BYTES] += m->size;
        counters[CLASS_COUNT + m->class]++;
        if (fault_due(m) && !break_message(m, data))
            continue;
        switch (mode) {
        case SEND:
            MPI_Send(data, (int)m->size, MPI_BYTE, m->dest, m->tag, comm);
            break;
        case SSEND:
            MPI_Ssend(data, (int)m->size, MPI_BYTE, m->dest, m->tag, comm);
            break;
        case ISEND:
            MPI_Isend(data, (int)m->size, MPI_BYTE, m->dest, m->tag, comm, &requests[k]);
            break;
        case ISSEND:
            MPI_Issend(data, (int)m->size, MPI_BYTE, m->dest, m->tag, comm, &requests[k]);
            break;
        }
    }
}

static void free_all(uint8_t **bases, int n)
{
    for (int k = 0; k < n; k++)
        free(bases[k]);
}

/* ---------------------------------------------------------------- receiving */

/* Preposted receives, each for the message it must get, completed in one of
 * three ways; sends may block since every receive is posted first. */
static void receive_preposted(struct batch *b, int any_tag, MPI_Request *sends, uint8_t **sbases)
{
    int n = b->n_in, k, done = 0, outcount;
    MPI_Request *requests = malloc((n + 1) * sizeof(*requests));
    MPI_Status *statuses = malloc((n + 1) * sizeof(*statuses));
    int *indices = malloc((n + 1) * sizeof(*indices));
    uint8_t **bases = malloc((n + 1) * sizeof(*bases)), **data = malloc((n + 1) * sizeof(*data));
    unsigned how = (unsigned)(hash3(opt.seed, b->number, 0x77616974) % 3);

    for (k = 0; k < n; k++) {
        const struct message *m = &b->in[k];

        data[k] = buffer_for(m, m->size, &bases[k]);
        MPI_Irecv(data[k], (int)m->size, MPI_BYTE, m->sender, any_tag ? MPI_ANY_TAG : m->tag, comm,
                  &requests[k]);
    }
    send_all(b, 1, sends, sbases);
    while (done < n) {
        if (how == 0) {
            MPI_Waitall(n, requests, statuses);
            for (k = 0; k < n; k++)
                indices[k] = k;
            outcount = n;
        } else if (how == 1) {
            MPI_Waitany(n, requests, &indices[0], &statuses[0]);
            outcount = 1;
        } else {
            MPI_Testsome(n, requests, &outcount, indices, statuses);
        }
        for (k = 0; k < outcount; k++)
            check(b, &b->in[indices[k]], data[indices[k]], &statuses[k], 1);
        done += outcount;
        received_in_batch = done;
    }
    free_all(bases, n);
    free(requests);
    free(statuses);
    free(indices);
    free(bases);
    free(data);
}

/* A window of ANY_SOURCE/ANY_TAG receives, completed in any order but
 * checked, and reposted, in the order they were posted, which is the order
 * they matched: slot k % window holds the k-th. */
static void receive_window(struct batch *b)
{
    size_t size = b->largest_in;
    int window = (int)(WINDOW_BYTES / (size + 1)), k, checked = 0, posted = 0;
    MPI_Request requests[WINDOW_MAX];
    MPI_Status statuses[WINDOW_MAX], status;
    uint8_t *bases[WINDOW_MAX], *data[WINDOW_MAX], done[WINDOW_MAX] = {0};
    const struct message unshifted = {.shift = 0};

    window = window < 1 ? 1 : window > WINDOW_MAX ? WINDOW_MAX : window;
    window = window > b->n_in ? b->n_in : window;
    for (k = 0; k < window; k++) {
        data[k] = buffer_for(&unshifted, size, &bases[k]);
        MPI_Irecv(data[k], (int)size, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &requests[k]);
        posted++;
    }
    while (checked < b->n_in) {
        MPI_Waitany(window, requests, &k, &status);
        statuses[k] = status;
        done[k] = 1;
        for (k = checked % window; done[k]; k = checked % window) {
            check_any(b, data[k], &statuses[k], 0);
            done[k] = 0;
            received_in_batch = ++checked;
            if (posted < b->n_in) {
                MPI_Irecv(data[k], (int)size, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, comm,
                          &requests[k]);
                posted++;
            }
        }
    }
    free_all(bases, window);
}

static void receive_blocking_wildcards(struct batch *b)
{
    const struct message unshifted = {.shift = 0};
    uint8_t *base, *data = buffer_for(&unshifted, b->largest_in, &base);
    MPI_Status status;

    for (int done = 0; done < b->n_in; received_in_batch = ++done) {
        MPI_Recv(data, (int)b->largest_in, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &status);
        check_any(b, data, &status, 0);
    }
    free(base);
}

/* Probe (blocking, polled, matched or matched and polled), then receive
 * exactly what the probe saw. */
static void receive_probed(struct batch *b)
{
    for (int done = 0; done < b->n_in; received_in_batch = ++done) {
        unsigned how = (unsigned)(hash3(opt.seed, b->number, (uint64_t)done) % 4);
        MPI_Status status;
        MPI_Message message;
        MPI_Request request;
        const struct message unshifted = {.shift = 0};
        uint8_t *base, *data;
        int count, flag = 0;

        if (how == 0)
            MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &status);
        else if (how == 1)
            while (!flag)
                MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &status);
        else if (how == 2)
            MPI_Mprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &message, &status);
        else
            while (!flag)
                MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &message, &status);
        MPI_Get_count(&status, MPI_BYTE, &count);
        data = buffer_for(&unshifted, (size_t)count, &base);
        if (how < 2) {
            MPI_Recv(data, count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, comm, &status);
        } else if (how == 2) {
            MPI_Mrecv(data, count, MPI_BYTE, &message, &status);
        } else {
            MPI_Imrecv(data, count, MPI_BYTE, &message, &request);
            MPI_Wait(&request, &status);
        }
        check_any(b, data, &status, 1);
        free(base);
    }
}

/* ---------------------------------------------------------------- batches */

static unsigned batch_length(uint64_t number)
{
    return 1 + (unsigned)(hash3(opt.seed, number, 0x6c656e) % opt.max_batch);
}

/* With -F every batch takes wildcard receives (see fault_due()). */
static enum style batch_style(uint64_t number)
{
    uint64_t h = hash3(opt.seed, number, 0x7374796c65);

    if (opt.fault != NO_FAULT)
        return (enum style)(WILDCARD_WINDOW + h % (STYLES - WILDCARD_WINDOW));
    return (enum style)(h % STYLES);
}

/* How many messages each sender sends in batch `number` when `left` remain:
 * the batch's length, or the last messages shared out evenly. */
static unsigned sends_in_batch(uint64_t number, uint64_t left, int sender)
{
    uint64_t length = batch_length(number);

    if (length * (uint64_t)nprocs <= left)
        return (unsigned)length;
    return (unsigned)(left / (uint64_t)nprocs + ((uint64_t)sender < left % (uint64_t)nprocs));
}

/* Lay out batch `number`, in which sender s sends from index first_index[s]. */
static void plan(struct batch *b, uint64_t number, uint64_t left, const uint64_t *first_index)
{
    struct message m;

    b->number = number;
    b->style = batch_style(number);
    b->n_out = b->n_in = 0;
    b->largest_in = 0;
    for (int s = 0; s < nprocs; s++) {
        unsigned n = sends_in_batch(number, left, s);

        b->first[s] = b->next[s] = b->n_in;
        for (uint64_t i = first_index[s]; i < first_index[s] + n; i++) {
            describe(s, i, &m);
            if (s == rank) {
                b->out[b->n_out++] = m;
                wraps_sent(m.dest, m.size, m.mode == SSEND || m.mode == ISSEND);
            } else if (m.dest == rank) {
                b->in[b->n_in++] = m;
                wraps_received(s, m.size, m.mode == SSEND || m.mode == ISSEND);
                b->largest_in = m.size > b->largest_in ? m.size : b->largest_in;
            }
        }
        b->count[s] = b->n_in - b->first[s];
    }
}

static void run_batch(struct batch *b)
{
    MPI_Request *sends = malloc((b->n_out + 1) * sizeof(*sends));
    uint8_t **sbases = malloc((b->n_out + 1) * sizeof(*sbases));

    arm_watchdog(b);
    counters[STYLE_COUNT + b->style]++;
    if (b->style == BY_TAG || b->style == BY_SOURCE) {
        receive_preposted(b, b->style == BY_SOURCE, sends, sbases);
    } else {
        /* Wildcards match whatever comes: sends must not wait for a receive
         * the peer has not posted, and nobody may start the next batch
         * before everyone has all of this one. */
        send_all(b, 0, sends, sbases);
        if (b->style == WILDCARD_WINDOW)
            receive_window(b);
        else if (b->style == WILDCARD_BLOCKING)
            receive_blocking_wildcards(b);
        else
            receive_probed(b);
    }
    MPI_Waitall(b->n_out, sends, MPI_STATUSES_IGNORE);
    free_all(sbases, b->n_out);
    if (b->style != BY_TAG && b->style != BY_SOURCE)
        MPI_Barrier(comm);
    free(sends);
    free(sbases);
}

/* After the last batch nothing may be left: no duplicate, nothing extra. */
static void look_for_leftovers(void)
{
    int flag = 0;
    MPI_Status status;

    MPI_Barrier(comm);
    for (int i = 0; i < 1000; i++) {
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &status);
        if (flag) {
            counters[LEFT_OVER]++;
            fprintf(stderr, "mpi_stress: rank %d: a message left over from %d, tag %d\n", rank,
                    status.MPI_SOURCE, status.MPI_TAG);
            break;
        }
    }
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
    fprintf(stderr, "usage: mpi_stress [-n MESSAGES] [-s SEED] [-m MAX_SIZE] [-b MAX_BATCH] "
                    "[-t WATCHDOG_SECONDS] [-F flip|drop|twice]\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
}

static void parse(int argc, char **argv)
{
    int c;

    while ((c = getopt(argc, argv, "n:s:m:b:t:F:")) != -1) {
        switch (c) {
        case 'n':
            opt.messages = strtoull(optarg, NULL, 0);
            break;
        case 's':
            opt.seed = strtoull(optarg, NULL, 0);
            break;
        case 'm':
            opt.max_size = strtoull(optarg, NULL, 0);
            break;
        case 'b':
            opt.max_batch = (unsigned)strtoul(optarg, NULL, 0);
            break;
        case 't':
            opt.timeout = (unsigned)strtoul(optarg, NULL, 0);
            break;
        case 'F':
            opt.fault = strcmp(optarg, "flip") == 0    ? FLIP
                        : strcmp(optarg, "drop") == 0  ? DROP
                        : strcmp(optarg, "twice") == 0 ? TWICE
                                                       : (usage(), NO_FAULT);
            break;
        default:
            usage();
        }
    }
    if (opt.max_batch == 0 || opt.max_size > (1u << 30) || opt.timeout == 0)
        usage();
}

static void make_pool(void)
{
    uint64_t rng = hash3(opt.seed, 0x706f6f6c, 0), word;
    size_t size = POOL_SPAN + opt.max_size + 8;

    pool = malloc(size);
    if (!pool)
        MPI_Abort(MPI_COMM_WORLD, 3);
    for (size_t i = 0; i + 8 <= size; i += 8) {
        word = next(&rng);
        memcpy(pool + i, &word, 8);
    }
}

/* The figures and the TAP lines; returns how many. */
static int report(const uint64_t *total, uint64_t batches, double seconds)
{
    int n = 0;

    printf("# %" PRIu64 " messages in %" PRIu64 " batches, %.3f GB, %.1f s: %.0f messages/s, "
           "%.0f MB/s\n",
           total[SENT], batches, total[SENT_BYTES] / 1e9, seconds, total[SENT] / seconds,
           total[SENT_BYTES] / seconds / 1e6);
    printf("# sizes:");
    for (int c = 0; c < CLASSES; c++)
        printf(" %s %" PRIu64, class_names[c], total[CLASS_COUNT + c]);
    printf("; batches received");
    for (int s = 0; s < STYLES; s++)
        printf("%s %s %" PRIu64, s ? "," : "", style_names[s], total[STYLE_COUNT + s] / nprocs);
    printf("\n");
    printf("%s %d - %" PRIu64 " messages sent, %" PRIu64 " received intact, %" PRIu64
           " corrupted\n",
           total[CORRUPTED] == 0 && total[RECEIVED] == total[SENT] ? "ok" : "not ok", ++n,
           total[SENT], total[RECEIVED], total[CORRUPTED]);
    printf("%s %d - no message lost, duplicated or unexpected (%" PRIu64 " unexpected, %" PRIu64
           " left over, %" PRIu64 " bytes sent, %" PRIu64 " received)\n",
           total[UNEXPECTED] + total[LEFT_OVER] == 0 && total[RECEIVED_BYTES] == total[SENT_BYTES]
               ? "ok"
               : "not ok",
           ++n, total[UNEXPECTED], total[LEFT_OVER], total[SENT_BYTES], total[RECEIVED_BYTES]);
    return n;
}

int main(int argc, char **argv)
{
    uint64_t total[COUNTERS] = {0}, *first_index, left, batches = 0;
    struct batch b;
    double start, seconds;
    int max_batch, tests = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    parse(argc, argv);
    if (nprocs < 2) {
        fprintf(stderr, "mpi_stress: run it on 2 or more ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (opt.seed == 0 && rank == 0)
        opt.seed = mix((uint64_t)time(NULL) ^ (uint64_t)getpid() << 32);
    MPI_Bcast(&opt.seed, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("# mpi_stress: seed %#" PRIx64 " (-s to repeat), %d ranks, %" PRIu64
               " messages, sizes 0..%zu, batches of 1..%u per rank\n",
               opt.seed, nprocs, opt.messages, opt.max_size, opt.max_batch);
        fflush(stdout);
    }
    /* Reuse freed buffers instead of mapping and faulting in each large one. */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    signal(SIGALRM, watchdog);
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    wraps_init(rank, nprocs);
    make_pool();
    max_batch = (int)opt.max_batch * nprocs;
    b.out = malloc(max_batch * sizeof(*b.out));
    b.in = malloc(max_batch * sizeof(*b.in));
    b.first = malloc(3 * nprocs * sizeof(int));
    first_index = calloc(nprocs, sizeof(*first_index));
    if (!b.out || !b.in || !b.first || !first_index)
        MPI_Abort(MPI_COMM_WORLD, 3);
    b.count = b.first + nprocs;
    b.next = b.count + nprocs;

    MPI_Barrier(comm);
    start = MPI_Wtime();
    for (left = opt.messages; left > 0; batches++) {
        uint64_t sent_in_batch = 0;

        plan(&b, batches, left, first_index);
        run_batch(&b);
        for (int s = 0; s < nprocs; s++) {
            unsigned n = sends_in_batch(batches, left, s);

            first_index[s] += n;
            sent_in_batch += n;
        }
        left -= sent_in_batch;
    }
    alarm(0);
    look_for_leftovers();
    seconds = MPI_Wtime() - start;
    MPI_Reduce(counters, total, COUNTERS, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
        tests = report(total, batches, seconds);
    wraps_report();
    if (rank == 0)
        printf("1..%d\n", tests);
    MPI_Comm_free(&comm);
    MPI_Finalize();
    free(pool);
    free(b.out);
    free(b.in);
    free(b.first);
    free(first_index);
    return rank == 0 && (total[CORRUPTED] || total[UNEXPECTED] || total[LEFT_OVER] ||
                         total[RECEIVED] != total[SENT])
               ? 1
               : 0;
}
