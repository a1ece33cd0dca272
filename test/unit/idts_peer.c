/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * One end of a tunnel as a process of its own, for ends that cannot fork from
 * one parent: processes in two Xen domains (test/xen runs one in each domU).
 *
 *   idts_peer [options] create|attach PEER KEY check|bench|endless
 *
 * PEER is the other end's instance (on xen its domain id) or "self". The
 * attacher listens on the inbox KEY-in, where the creator hands the region
 * over (the shm backend does). Both ends run the same mode:
 *   check    ping-pong records of every size class, then stream checksummed
 *            records each way; prints TAP lines, exit 0 iff all arrived intact;
 *   bench    8-byte one-way latency and the bandwidth of the checksummed
 *            stream, printed by the creator (to compare backends or domains
 *            with the same program and options);
 *   endless  the creator streams checksummed records until one end dies; the
 *            survivor prints how long after the last record it noticed and
 *            exits 0 iff the tunnel reported the peer dead (-ECONNRESET).
 */
#define _GNU_SOURCE
#include "idts_tunnel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { TAG_PING = 1, TAG_STREAM, TAG_RESULT };

struct options {
    const char *backend;
    uint32_t ring_size;
    int timeout_s;
    uint64_t stream_bytes;
    int iterations;
};

static struct idts_tunnel tunnel;
static int creator;
static int test_number, failures;
static double last_record; /* when the last record moved, for endless */

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void ok(int pass, const char *what, int rc)
{
    printf("%sok %d - %s (%d)\n", pass ? "" : "not ", ++test_number, what, rc);
    fflush(stdout);
    failures += !pass;
}

static int send_record(uint8_t tag, const void *buf, uint32_t len)
{
    void *payload;
    int rc;

    while ((rc = idts_tunnel_reserve(&tunnel, len, &payload)) == -EAGAIN)
        if ((rc = idts_tunnel_wait(&tunnel, IDTS_WAIT_SEND, len, -1)) < 0)
            return rc;
    if (rc)
        return rc;
    if (buf)
        memcpy(payload, buf, len);
    else
        memset(payload, 0, len);
    last_record = now();
    return idts_tunnel_commit(&tunnel, tag, len);
}

/* Waits for the next record: 0 with it in *record, or the tunnel's error. */
static int next_record(struct idts_record *record)
{
    int rc;

    while ((rc = idts_tunnel_peek(&tunnel, record)) == 0)
        if ((rc = idts_tunnel_wait(&tunnel, IDTS_WAIT_RECV, 0, -1)) < 0)
            return rc;
    if (rc > 0)
        last_record = now();
    return rc < 0 ? rc : 0;
}

/* The content of stream record n: 64-bit words no two records share. */
static uint64_t word(uint64_t n, uint32_t i)
{
    uint64_t z = (n << 20) + i + 0x9e3779b97f4a7c15ull;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t stream_record_size(uint64_t n, uint32_t max)
{
    /* Sizes walk through every 8-byte class up to the maximum, so the ring
     * wraps at every offset over a long stream. */
    uint32_t size = (uint32_t)((n * 8 + n / 7) % (max + 1));

    return size & ~7u;
}

static int stream_send(uint64_t n, uint32_t size)
{
    uint64_t *payload;
    uint32_t i;
    int rc;

    while ((rc = idts_tunnel_reserve(&tunnel, size, (void **)&payload)) == -EAGAIN)
        if ((rc = idts_tunnel_wait(&tunnel, IDTS_WAIT_SEND, size, -1)) < 0)
            return rc;
    if (rc)
        return rc;
    for (i = 0; i < size / 8; i++)
        payload[i] = word(n, i);
    last_record = now();
    return idts_tunnel_commit(&tunnel, TAG_STREAM, size);
}

/* 0 if record n arrived with its size and content, -EBADMSG if not. */
static int stream_check(uint64_t n, uint32_t size)
{
    struct idts_record record;
    const uint64_t *words;
    uint32_t i;
    int rc = next_record(&record);

    if (rc)
        return rc;
    words = (const uint64_t *)(const void *)record.data; /* records are 8-aligned */
    rc = record.tag == TAG_STREAM && record.length == size ? 0 : -EBADMSG;
    for (i = 0; rc == 0 && i < size / 8; i++)
        if (words[i] != word(n, i))
            rc = -EBADMSG;
    idts_tunnel_release(&tunnel);
    return rc;
}

/* One direction: the sender streams `bytes`, the receiver checks and answers. */
static int stream(int sending, uint64_t bytes, uint64_t *records)
{
    uint32_t max = idts_tunnel_max_payload(&tunnel);
    uint64_t n, moved = 0;
    struct idts_record record;
    int32_t result = 0;
    int rc = 0;

    for (n = 0; rc == 0 && moved < bytes; n++) {
        uint32_t size = stream_record_size(n, max);

        rc = sending ? stream_send(n, size) : stream_check(n, size);
        moved += size + IDTS_RECORD_HEADER_SIZE;
    }
    *records = n;
    if (!sending) {
        result = rc;
        return rc ? rc : send_record(TAG_RESULT, &result, sizeof(result));
    }
    if (rc == 0)
        rc = next_record(&record);
    if (rc == 0) {
        if (record.tag != TAG_RESULT || record.length != sizeof(result))
            rc = -EBADMSG;
        else
            memcpy(&result, record.data, sizeof(result));
        idts_tunnel_release(&tunnel);
    }
    return rc ? rc : result;
}

static int pingpong(int iterations)
{
    uint32_t max = idts_tunnel_max_payload(&tunnel);
    struct idts_record record;
    int i, rc = 0;

    for (i = 0; rc == 0 && i < iterations; i++) {
        uint32_t size = (uint32_t)(i % 10 == 9 ? max : (i * 37u) % 512);

        if (creator)
            rc = send_record(TAG_PING, NULL, size);
        if (rc == 0)
            rc = next_record(&record);
        if (rc == 0 && (record.tag != TAG_PING || record.length != size))
            rc = -EBADMSG;
        if (rc == 0)
            rc = idts_tunnel_release(&tunnel);
        if (rc == 0 && !creator)
            rc = send_record(TAG_PING, NULL, size);
    }
    return rc;
}

static int check(const struct options *o)
{
    uint64_t records;
    int rc;

    rc = pingpong(o->iterations);
    ok(rc == 0, "ping-pong of records from 0 bytes to the largest", rc);
    rc = stream(creator, o->stream_bytes, &records);
    ok(rc == 0, "checksummed stream from creator to attacher", rc);
    rc = stream(!creator, o->stream_bytes, &records);
    ok(rc == 0, "checksummed stream from attacher to creator", rc);
    printf("# %llu records each way\n", (unsigned long long)records);
    return failures ? 1 : 0;
}

static int bench(const struct options *o)
{
    static uint8_t message[8];
    struct idts_record record;
    uint64_t records;
    double start;
    int i, rc = 0;

    start = now();
    for (i = 0; rc == 0 && i < o->iterations; i++) {
        if (creator)
            rc = send_record(TAG_PING, message, sizeof(message));
        if (rc == 0)
            rc = next_record(&record);
        if (rc == 0)
            rc = idts_tunnel_release(&tunnel);
        if (rc == 0 && !creator)
            rc = send_record(TAG_PING, message, sizeof(message));
    }
    if (rc == 0 && creator)
        printf("latency_8B_us %.3f\n", (now() - start) * 1e6 / o->iterations / 2);
    start = now();
    if (rc == 0)
        rc = stream(creator, o->stream_bytes, &records);
    if (rc == 0 && creator)
        printf("bandwidth_MBps %.1f\n", (double)o->stream_bytes / (now() - start) / 1e6);
    return rc ? 1 : 0;
}

static int endless(void)
{
    uint32_t max = idts_tunnel_max_payload(&tunnel);
    uint64_t n;
    int rc = 0;

    for (n = 0; rc == 0; n++) {
        uint32_t size = stream_record_size(n, max);

        rc = creator ? stream_send(n, size) : stream_check(n, size);
        if (n % 100000 == 0)
            printf("# record %llu\n", (unsigned long long)n), fflush(stdout);
    }
    printf("peer gone: %s after %llu records, noticed %.2f s after the last one\n", strerror(-rc),
           (unsigned long long)n, now() - last_record);
    return rc == -ECONNRESET ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: idts_peer [-b BACKEND] [-r RING_BYTES] [-t CONNECT_SECONDS] "
                    "[-s STREAM_BYTES] [-n ITERATIONS]\n"
                    "                 create|attach PEER KEY check|bench|endless\n");
    exit(2);
}

static void parse(int argc, char **argv, struct options *o)
{
    int c;

    *o = (struct options){"auto", 64u << 10, 60, 16u << 20, 1000};
    while ((c = getopt(argc, argv, "b:r:t:s:n:")) != -1) {
        switch (c) {
        case 'b':
            o->backend = optarg;
            break;
        case 'r':
            o->ring_size = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 't':
            o->timeout_s = atoi(optarg);
            break;
        case 's':
            o->stream_bytes = strtoull(optarg, NULL, 0);
            break;
        case 'n':
            o->iterations = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (argc - optind != 4 || o->iterations <= 0 || o->timeout_s <= 0 ||
        (strcmp(argv[optind], "create") != 0 && strcmp(argv[optind], "attach") != 0))
        usage();
}

int main(int argc, char **argv)
{
    struct idts_backend be;
    struct options o;
    const char *peer, *key, *mode;
    char inbox[IDTS_KEY_MAX];
    int rc;

    parse(argc, argv, &o);
    creator = strcmp(argv[optind], "create") == 0;
    key = argv[optind + 2];
    mode = argv[optind + 3];
    rc = idts_backend_open(&be, o.backend);
    if (rc) {
        fprintf(stderr, "idts_peer: backend %s: %s\n", o.backend,
                be.why[0] ? be.why : strerror(-rc));
        return 1;
    }
    peer = strcmp(argv[optind + 1], "self") == 0 ? be.instance : argv[optind + 1];
    printf("# backend %s, host %s, instance %s, peer %s, %s\n", be.ops->name, be.host, be.instance,
           peer, creator ? "creator" : "attacher");
    snprintf(inbox, sizeof(inbox), "%s-in", key);
    rc = creator ? idts_tunnel_create(&tunnel, &be, peer, inbox, key, o.ring_size)
                 : be.ops->listen(&be, inbox);
    if (!creator && rc == 0)
        rc = idts_tunnel_attach(&tunnel, &be, peer, key);
    if (rc == 0)
        rc = idts_tunnel_connect_wait(&tunnel, o.timeout_s * 1000);
    ok(rc == 0, "tunnel connects", rc);
    if (rc)
        printf("# %s\n", be.why);
    if (rc == 0) {
        last_record = now();
        if (strcmp(mode, "check") == 0)
            rc = check(&o);
        else if (strcmp(mode, "bench") == 0)
            rc = bench(&o);
        else if (strcmp(mode, "endless") == 0)
            rc = endless();
        else
            usage();
    } else {
        rc = 1;
    }
    idts_tunnel_close(&tunnel);
    idts_backend_close(&be);
    printf("1..%d\n", test_number);
    return rc;
}
