/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Tunnel benchmark: two processes, three transports, one run.
 *
 * Measures one-way latency (half a ping-pong round trip, 8 B to 4 KiB) and
 * streaming bandwidth (osu_bw style: a window of 64 messages, then a 4-byte
 * acknowledgement; 4 KiB to 4 MiB) over the idts tunnel (shm backend), a
 * Unix-domain socket pair and a loopback TCP connection. Every transport moves
 * whole messages from a user buffer to a user buffer, so the tunnel pays its
 * copy in and copy out like the sockets pay theirs. The transports are
 * measured in the same run because this machine is shared and noisy; the
 * figures are reported, never judged by the exit status, which says only
 * whether every transfer arrived intact.
 */
#define _GNU_SOURCE
#include "idts_tunnel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WINDOW       64
#define MAX_MESSAGE  (4u << 20)
#define MIN_BW_SIZE  (4u << 10)
#define MAX_LAT_SIZE 4096u

enum transport_kind { TUNNEL, UNIX_SOCKET, TCP_SOCKET, TRANSPORTS };
static const char *const transport_name[TRANSPORTS] = {"idts", "unix", "tcp"};

struct transport {
    enum transport_kind kind;
    struct idts_tunnel tunnel;
    uint32_t chunk; /* tunnel: bytes per record */
    int fd;         /* sockets */
};

struct options {
    uint32_t ring_size;
    uint32_t chunk;
    int quick;
};

static void die(const char *what, int err)
{
    fprintf(stderr, "idts_tunnel_bench: %s: %s\n", what, strerror(err));
    exit(1);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void tunnel_send(struct transport *t, const uint8_t *buf, size_t len)
{
    do {
        uint32_t n = len < t->chunk ? (uint32_t)len : t->chunk;
        void *payload;
        int rc;

        while ((rc = idts_tunnel_reserve(&t->tunnel, n, &payload)) == -EAGAIN)
            if ((rc = idts_tunnel_wait(&t->tunnel, IDTS_WAIT_SEND, n, -1)) < 0)
                break;
        if (rc < 0)
            die("tunnel send", -rc);
        memcpy(payload, buf, n);
        idts_tunnel_commit(&t->tunnel, 0, n);
        buf += n;
        len -= n;
    } while (len > 0);
}

static void tunnel_recv(struct transport *t, uint8_t *buf, size_t len)
{
    do {
        struct idts_record record;
        int rc;

        while ((rc = idts_tunnel_peek(&t->tunnel, &record)) == 0)
            if ((rc = idts_tunnel_wait(&t->tunnel, IDTS_WAIT_RECV, 0, -1)) < 0)
                break;
        if (rc < 0)
            die("tunnel receive", -rc);
        if (record.length > len)
            die("tunnel receive: record longer than the message", EPROTO);
        memcpy(buf, record.data, record.length);
        idts_tunnel_release(&t->tunnel);
        buf += record.length;
        len -= record.length;
    } while (len > 0);
}

static void socket_send(struct transport *t, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(t->fd, buf, len);

        if (n <= 0)
            die("socket send", n < 0 ? errno : EPIPE);
        buf += n;
        len -= (size_t)n;
    }
}

/* A stream socket with MSG_WAITALL returns short only on error or EOF. */
static void socket_recv(struct transport *t, uint8_t *buf, size_t len)
{
    ssize_t n = recv(t->fd, buf, len, MSG_WAITALL);

    if (n != (ssize_t)len)
        die("socket receive", n < 0 ? errno : EPIPE);
}

static void send_msg(struct transport *t, const void *buf, size_t len)
{
    if (t->kind == TUNNEL)
        tunnel_send(t, buf, len);
    else
        socket_send(t, buf, len);
}

static void recv_msg(struct transport *t, void *buf, size_t len)
{
    if (t->kind == TUNNEL)
        tunnel_recv(t, buf, len);
    else
        socket_recv(t, buf, len);
}

/* The schedule both processes follow; it must not depend on timing. */
static int latency_iterations(const struct options *o, uint32_t size)
{
    int n = size <= 1024 ? 20000 : 10000;

    return o->quick ? n / 20 : n;
}

static int bandwidth_windows(const struct options *o, uint32_t size)
{
    uint64_t target = o->quick ? (64ull << 20) : (1ull << 30);
    uint64_t n = target / ((uint64_t)size * WINDOW);

    return n < 4 ? 4 : (int)n;
}

static uint8_t *send_buf, *recv_buf;

static void set_pattern(uint32_t size)
{
    uint32_t i;

    for (i = 0; i < size; i++)
        send_buf[i] = (uint8_t)(i * 7 + size);
    memset(recv_buf, 0, size);
}

/* The last message received must be the pattern, or the figure is void. */
static void check_pattern(struct transport *t, uint32_t size)
{
    if (memcmp(recv_buf, send_buf, size) != 0) {
        fprintf(stderr, "idts_tunnel_bench: %s: %u-byte message arrived corrupted\n",
                transport_name[t->kind], size);
        exit(2);
    }
}

/* Returns the one-way latency in microseconds on the leader, 0 on the follower. */
static double latency(struct transport *t, const struct options *o, uint32_t size, int leader)
{
    /* The first point also absorbs the processes settling on their CPUs. */
    int n = latency_iterations(o, size), warmup = n / 10 < 1000 ? 1000 : n / 10, i;
    double start = 0;

    set_pattern(size);
    for (i = -warmup; i < n; i++) {
        if (i == 0)
            start = now();
        if (leader) {
            send_msg(t, send_buf, size);
            recv_msg(t, recv_buf, size);
        } else {
            recv_msg(t, recv_buf, size);
            send_msg(t, send_buf, size);
        }
    }
    check_pattern(t, size);
    return leader ? (now() - start) * 1e6 / n / 2 : 0;
}

/* Returns MB/s (10^6 bytes) on the leader, which sends; 0 on the follower. */
static double bandwidth(struct transport *t, const struct options *o, uint32_t size, int leader)
{
    int n = bandwidth_windows(o, size), i, m;
    uint32_t ack = 0;
    double start = 0;

    set_pattern(size);
    for (i = -1; i < n; i++) {
        if (i == 0)
            start = now();
        for (m = 0; m < WINDOW; m++) {
            if (leader)
                send_msg(t, send_buf, size);
            else
                recv_msg(t, recv_buf, size);
        }
        if (leader)
            recv_msg(t, &ack, sizeof(ack));
        else
            send_msg(t, &ack, sizeof(ack));
    }
    if (!leader)
        check_pattern(t, size);
    return leader ? (double)size * WINDOW * n / (now() - start) / 1e6 : 0;
}

static int bw_sizes(uint32_t *sizes)
{
    uint32_t s;
    int n = 0;

    for (s = MIN_BW_SIZE; s <= MAX_MESSAGE; s *= 4)
        sizes[n++] = s;
    return n;
}

static int lat_sizes(uint32_t *sizes)
{
    uint32_t s;
    int n = 0;

    for (s = 8; s <= MAX_LAT_SIZE; s *= 2)
        sizes[n++] = s;
    return n;
}

struct results {
    uint32_t lat_size[16], bw_size[16];
    int lat_count, bw_count;
    double lat[TRANSPORTS][16], bw[TRANSPORTS][16];
};

static void run(struct transport *t, const struct options *o, struct results *r, int leader)
{
    int i;

    for (i = 0; i < r->lat_count; i++)
        r->lat[t->kind][i] = latency(t, o, r->lat_size[i], leader);
    for (i = 0; i < r->bw_count; i++)
        r->bw[t->kind][i] = bandwidth(t, o, r->bw_size[i], leader);
}

static void enable_nodelay(int fd)
{
    int one = 1;

    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
        die("TCP_NODELAY", errno);
}

/* Everything the two processes need before they part ways. */
struct setup {
    int unix_pair[2];
    int tcp_listener;
    struct sockaddr_in tcp_addr;
    char key[IDTS_KEY_MAX];
    struct idts_backend backend;
};

static void prepare(struct setup *s, struct transport *tunnel, const struct options *o)
{
    socklen_t len = sizeof(s->tcp_addr);
    char inbox[IDTS_KEY_MAX];
    int rc = idts_backend_open(&s->backend, "shm");

    if (rc)
        die(s->backend.why[0] ? s->backend.why : "opening the shm backend", -rc);
    /* The follower, forked from us, takes the offer from this inbox. */
    snprintf(s->key, sizeof(s->key), "bench-%d", (int)getpid());
    snprintf(inbox, sizeof(inbox), "bench-%d-in", (int)getpid());
    rc = s->backend.ops->listen(&s->backend, inbox);
    if (rc == 0)
        rc = idts_tunnel_create(&tunnel->tunnel, &s->backend, s->backend.instance, inbox, s->key,
                                o->ring_size);
    if (rc)
        die("creating the tunnel", -rc);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s->unix_pair) != 0)
        die("socketpair", errno);
    memset(&s->tcp_addr, 0, sizeof(s->tcp_addr));
    s->tcp_addr.sin_family = AF_INET;
    s->tcp_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->tcp_listener = socket(AF_INET, SOCK_STREAM, 0);
    if (s->tcp_listener < 0 ||
        bind(s->tcp_listener, (struct sockaddr *)&s->tcp_addr, sizeof(s->tcp_addr)) != 0 ||
        listen(s->tcp_listener, 1) != 0 ||
        getsockname(s->tcp_listener, (struct sockaddr *)&s->tcp_addr, &len) != 0)
        die("loopback TCP listener", errno);
}

/* Connect this process's end of each transport; the child is the follower. */
static void connect_all(struct setup *s, struct transport *t, const struct options *o, int leader)
{
    int rc;

    t[TUNNEL].kind = TUNNEL;
    if (!leader &&
        (rc = idts_tunnel_attach(&t[TUNNEL].tunnel, &s->backend, s->backend.instance, s->key)) != 0)
        die("attaching the tunnel", -rc);
    rc = idts_tunnel_connect_wait(&t[TUNNEL].tunnel, 10000);
    if (rc)
        die("connecting the tunnel", -rc);
    t[TUNNEL].chunk = o->chunk;
    if (t[TUNNEL].chunk == 0 || t[TUNNEL].chunk > idts_tunnel_max_payload(&t[TUNNEL].tunnel))
        t[TUNNEL].chunk = idts_tunnel_max_payload(&t[TUNNEL].tunnel);

    t[UNIX_SOCKET].kind = UNIX_SOCKET;
    t[UNIX_SOCKET].fd = s->unix_pair[leader ? 0 : 1];
    close(s->unix_pair[leader ? 1 : 0]);

    t[TCP_SOCKET].kind = TCP_SOCKET;
    if (leader) {
        t[TCP_SOCKET].fd = accept(s->tcp_listener, NULL, NULL);
    } else {
        t[TCP_SOCKET].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (t[TCP_SOCKET].fd >= 0 &&
            connect(t[TCP_SOCKET].fd, (struct sockaddr *)&s->tcp_addr, sizeof(s->tcp_addr)) != 0)
            die("connecting over loopback TCP", errno);
    }
    if (t[TCP_SOCKET].fd < 0)
        die("loopback TCP connection", errno);
    close(s->tcp_listener);
    enable_nodelay(t[TCP_SOCKET].fd);
}

static void print_results(const struct results *r, const struct options *o, double seconds)
{
    int i;

    printf("\n## One-way latency (half round trip)\n\n");
    printf("| size (B) | idts (us) | unix (us) | tcp (us) | unix/idts | tcp/idts |\n");
    printf("|---:|---:|---:|---:|---:|---:|\n");
    for (i = 0; i < r->lat_count; i++)
        printf("| %u | %.3f | %.3f | %.3f | %.1fx | %.1fx |\n", r->lat_size[i], r->lat[TUNNEL][i],
               r->lat[UNIX_SOCKET][i], r->lat[TCP_SOCKET][i],
               r->lat[UNIX_SOCKET][i] / r->lat[TUNNEL][i],
               r->lat[TCP_SOCKET][i] / r->lat[TUNNEL][i]);
    printf("\n## Streaming bandwidth (window of %d, MB/s = 10^6 B/s)\n\n", WINDOW);
    printf("| size | idts (MB/s) | unix (MB/s) | tcp (MB/s) | idts/unix | idts/tcp |\n");
    printf("|---:|---:|---:|---:|---:|---:|\n");
    for (i = 0; i < r->bw_count; i++)
        printf("| %u KiB | %.0f | %.0f | %.0f | %.2fx | %.2fx |\n", r->bw_size[i] >> 10,
               r->bw[TUNNEL][i], r->bw[UNIX_SOCKET][i], r->bw[TCP_SOCKET][i],
               r->bw[TUNNEL][i] / r->bw[UNIX_SOCKET][i], r->bw[TUNNEL][i] / r->bw[TCP_SOCKET][i]);
    printf("\n%s run, ring %u KiB, %.1f s\n", o->quick ? "quick" : "full", o->ring_size >> 10,
           seconds);
}

static int index_of(const uint32_t *sizes, int count, uint32_t size)
{
    int i;

    for (i = 0; i < count - 1 && sizes[i] != size; i++)
        ;
    return i;
}

/* The tunnel core's acceptance figures, stated as facts, not as an exit status. */
static void print_targets(const struct results *r)
{
    int l = index_of(r->lat_size, r->lat_count, 8), b = index_of(r->bw_size, r->bw_count, 1 << 20);
    double lat = r->lat[TUNNEL][l], tcp_lat = r->lat[TCP_SOCKET][l];
    double bw = r->bw[TUNNEL][b], unix_bw = r->bw[UNIX_SOCKET][b], tcp_bw = r->bw[TCP_SOCKET][b];

    printf("\n8 B latency: %.3f us, %.1fx lower than tcp (target: < 0.5 us and >= 10x): %s\n", lat,
           tcp_lat / lat, lat < 0.5 && tcp_lat / lat >= 10 ? "meets" : "misses");
    printf("1 MiB bandwidth: %.0f MB/s, %.2fx unix, %.2fx tcp (target: > both, >= 2x tcp): %s\n",
           bw, bw / unix_bw, bw / tcp_bw,
           bw > unix_bw && bw > tcp_bw && bw >= 2 * tcp_bw ? "meets" : "misses");
}

static void usage(int status)
{
    printf("usage: idts_tunnel_bench [-q] [-r RING_BYTES] [-c CHUNK_BYTES]\n"
           "  -q  quick run (fewer iterations)\n"
           "  -r  size of each tunnel ring, a power of two from 4096 (default 1048576)\n"
           "  -c  bytes per tunnel record for large messages (default: a quarter of the ring)\n");
    exit(status);
}

static void parse(int argc, char **argv, struct options *o)
{
    int c;

    o->ring_size = 1u << 20;
    o->chunk = 0;
    o->quick = 0;
    while ((c = getopt(argc, argv, "qr:c:h")) != -1) {
        switch (c) {
        case 'q':
            o->quick = 1;
            break;
        case 'r':
            o->ring_size = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 'c':
            o->chunk = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 'h':
            usage(0);
            break;
        default:
            usage(2);
        }
    }
    if (!idts_ring_size_valid(o->ring_size)) {
        fprintf(stderr, "idts_tunnel_bench: -r %u: a ring is a power of two from %u to %u\n",
                o->ring_size, IDTS_RING_MIN_SIZE, IDTS_RING_MAX_SIZE);
        exit(2);
    }
    if (o->chunk == 0)
        o->chunk = o->ring_size / 4 - IDTS_RECORD_HEADER_SIZE;
}

int main(int argc, char **argv)
{
    static struct results r;
    struct transport t[TRANSPORTS];
    struct options o;
    struct setup s;
    double start = now();
    int k, status;
    pid_t child;

    parse(argc, argv, &o);
    send_buf = malloc(MAX_MESSAGE);
    recv_buf = malloc(MAX_MESSAGE);
    if (!send_buf || !recv_buf)
        die("allocating buffers", ENOMEM);
    r.lat_count = lat_sizes(r.lat_size);
    r.bw_count = bw_sizes(r.bw_size);
    memset(t, 0, sizeof(t));
    prepare(&s, &t[TUNNEL], &o);
    fflush(stdout);
    child = fork();
    if (child < 0)
        die("fork", errno);
    connect_all(&s, t, &o, child != 0);
    for (k = 0; k < TRANSPORTS; k++)
        run(&t[k], &o, &r, child != 0);
    if (child == 0)
        _exit(0);
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "idts_tunnel_bench: the follower process failed\n");
        return 1;
    }
    printf("idts tunnel benchmark: 2 processes on %ld online CPUs\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    print_results(&r, &o, now() - start);
    print_targets(&r);
    idts_tunnel_close(&t[TUNNEL].tunnel);
    return 0;
}
