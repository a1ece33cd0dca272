/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Faults in MPI jobs over idts, for test/fault/mpi-fault.sh: two ranks,
 * rank 0 the victim, rank 1 the fault.
 *
 *   mpi_fault_test die eager|rendezvous sender|receiver
 *       The ranks stream messages (eager: 1 KiB; rendezvous: 4 MiB, which
 *       ob1 moves with idts's GET) until the chosen side, mid-transfer,
 *       kills itself with SIGKILL. The survivor must report the death.
 *   mpi_fault_test hostile CASE
 *       After a warm-up, rank 1 writes into the tunnel's shared memory what
 *       no honest end would (see the cases below), then stops. Rank 0 keeps
 *       using the tunnel and must report the peer, not crash or hang.
 *   mpi_fault_test die-first RANK
 *       RANK kills itself right after MPI_Init, before any tunnel to it
 *       exists; the other sends it a message and waits for an answer. The
 *       survivor must report the death.
 *   mpi_fault_test forged-knock   (3 ranks, shm)
 *       Rank 1 sends rank 0's inbox a knock that claims to come from rank
 *       2, which never talks to rank 0; then 0 and 2 exchange with 1 for a
 *       while. The job must end cleanly.
 *   mpi_fault_test inbox-taken    (shm)
 *       Before MPI_Init, rank 1 binds the name of its own idts inbox: idts
 *       cannot listen, says so, and the job cannot run over idts,self.
 *   mpi_fault_test bad-offer      (shm)
 *       After MPI_Init, rank 0 hands rank 1's inbox an offer for their
 *       tunnel that carries a descriptor too many; then rank 1 sends to
 *       rank 0 and takes it: the tunnel cannot be set up, and idts says so.
 *
 * The hostile rank finds the region the shm backend mapped (a memfd named
 * idts) in /proc/self/maps; rank 0 has the lower name, so it created the
 * tunnel: it produces on ring 0 and consumes ring 1 (idts_abi.h).
 */
#define _GNU_SOURCE
#include "idts_abi.h"

#include <fcntl.h>
#include <mpi.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { TAG_DATA = 1, TAG_GO, TAG_NEVER };

static int rank;

static void die(const char *what)
{
    fprintf(stderr, "mpi_fault_test: rank %d: %s\n", rank, what);
    MPI_Abort(MPI_COMM_WORLD, 3);
}

/* Send or receive until the dying side, after a while, kills itself while
 * its next message is in flight. The survivor never returns: idts stops the
 * job. */
static void stream_until_death(size_t size, int dying)
{
    char *buf = malloc(size);
    MPI_Request request;
    long i;

    if (!buf)
        die("out of memory");
    memset(buf, 1, size);
    for (i = 0;; i++) {
        if (rank == 0)
            MPI_Isend(buf, (int)size, MPI_CHAR, 1, TAG_DATA, MPI_COMM_WORLD, &request);
        else
            MPI_Irecv(buf, (int)size, MPI_CHAR, 0, TAG_DATA, MPI_COMM_WORLD, &request);
        if (i == 50 && rank == dying) {
            int done, k;

            for (k = 0; k < 10; k++)
                MPI_Test(&request, &done, MPI_STATUS_IGNORE);
            fprintf(stderr, "mpi_fault_test: rank %d kills itself\n", rank);
            raise(SIGKILL);
        }
        MPI_Wait(&request, MPI_STATUS_IGNORE);
    }
}

/* The tunnel's region in this process: the mapping whose first page holds
 * the ABI's magic. */
static struct idts_ctrl *find_region(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long start;
    struct idts_ctrl *ctrl = NULL;

    while (maps && !ctrl && fgets(line, sizeof(line), maps))
        if (strstr(line, "memfd:idts") && sscanf(line, "%lx-", &start) == 1 &&
            ((struct idts_ctrl *)start)->magic == IDTS_ABI_MAGIC)
            ctrl = (struct idts_ctrl *)start;
    if (maps)
        fclose(maps);
    if (!ctrl)
        die("no idts region mapped here (is the backend shm?)");
    return ctrl;
}

static uint8_t *ring_data(struct idts_ctrl *ctrl, int ring)
{
    return (uint8_t *)ctrl + IDTS_CTRL_SIZE + (size_t)ring * ctrl->ring_size;
}

static void store_header(uint8_t *at, uint32_t length, uint16_t seq, uint8_t type)
{
    struct idts_record_header header = {.length = length, .seq = seq, .type = type, .tag = 65};
    uint64_t word;

    memcpy(&word, &header, sizeof(word));
    __atomic_store_n((uint64_t *)at, word, __ATOMIC_RELEASE);
}

struct hostile_case {
    const char *name;
    int victim_sends; /* the victim fills ring 0; else it waits for a record */
    void (*damage)(struct idts_ctrl *ctrl);
};

/* Ring 0: the victim's producer reads the cons we publish. */
static void cons_ahead(struct idts_ctrl *ctrl)
{
    __atomic_store_n(&ctrl->ring[0].cons, ctrl->ring[0].cons + 2 * ctrl->ring_size,
                     __ATOMIC_RELEASE);
}

static void cons_behind(struct idts_ctrl *ctrl)
{
    __atomic_store_n(&ctrl->ring[0].cons, ctrl->ring[0].cons - 2 * ctrl->ring_size,
                     __ATOMIC_RELEASE);
}

/* Ring 1: the victim polls the header at the cons it published. */
static uint8_t *victims_next_header(struct idts_ctrl *ctrl)
{
    uint32_t cons = __atomic_load_n(&ctrl->ring[1].cons, __ATOMIC_ACQUIRE);

    return ring_data(ctrl, 1) + (cons & (ctrl->ring_size - 1));
}

static void length_past_ring(struct idts_ctrl *ctrl)
{
    store_header(victims_next_header(ctrl), 2 * ctrl->ring_size, 0, IDTS_RECORD_DATA);
}

/* A producer going back: the record at the ring's start, read already,
 * published again (its sequence number is behind the victim's). */
static void sequence_replayed(struct idts_ctrl *ctrl)
{
    struct idts_record_header old;

    memcpy(&old, ring_data(ctrl, 1), sizeof(old));
    if (old.type != IDTS_RECORD_DATA)
        old.seq = 0x8000;
    store_header(victims_next_header(ctrl), old.length, old.seq, IDTS_RECORD_DATA);
}

static void pad_short(struct idts_ctrl *ctrl)
{
    store_header(victims_next_header(ctrl), 8, 0, IDTS_RECORD_PAD);
}

static void garbage(struct idts_ctrl *ctrl)
{
    uint8_t *data = ring_data(ctrl, 1), *next = victims_next_header(ctrl);
    uint64_t state = 0x9e3779b97f4a7c15u, word;
    uint32_t i;

    for (i = 0; i < ctrl->ring_size; i += 8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        word = state;
        memcpy(data + i, &word, 8);
    }
    /* Nothing at the victim's position could read as an end marker. */
    if (*(volatile uint64_t *)next == 0)
        store_header(next, 0, 0, 0xff);
}

static void magic_flipped(struct idts_ctrl *ctrl)
{
    ctrl->magic ^= 0x100;
}

static void live_byte_invalid(struct idts_ctrl *ctrl)
{
    __atomic_store_n(&ctrl->attacher_live, 77, __ATOMIC_RELEASE);
}

static const struct hostile_case cases[] = {
    {"cons-ahead", 1, cons_ahead},
    {"cons-behind", 1, cons_behind},
    {"length-past-ring", 0, length_past_ring},
    {"sequence-replayed", 0, sequence_replayed},
    {"pad-short", 0, pad_short},
    {"garbage", 0, garbage},
    {"magic-flipped", 0, magic_flipped},
    {"live-byte-invalid", 0, live_byte_invalid},
};

/* Eager and rendezvous messages both ways: the tunnel is open and used. */
static void warm_up(void)
{
    static const int sizes[] = {0, 8, 1000, 4000, 40000, 1 << 20};
    char *buf = calloc(1, 1 << 20);
    size_t i;
    int round;

    if (!buf)
        die("out of memory");
    for (round = 0; round < 10; round++)
        for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            if (rank == 0) {
                MPI_Send(buf, sizes[i], MPI_CHAR, 1, TAG_DATA, MPI_COMM_WORLD);
                MPI_Recv(buf, sizes[i], MPI_CHAR, 1, TAG_DATA, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else {
                MPI_Recv(buf, sizes[i], MPI_CHAR, 0, TAG_DATA, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Send(buf, sizes[i], MPI_CHAR, 0, TAG_DATA, MPI_COMM_WORLD);
            }
        }
    free(buf);
}

/* Eager messages, which go into the ring whether the peer receives or not:
 * together several times the largest ring. */
#define VICTIM_MESSAGES 40000

static void victim(const struct hostile_case *c)
{
    static char block[1024];
    static MPI_Request requests[VICTIM_MESSAGES];
    int i;

    MPI_Send(NULL, 0, MPI_CHAR, 1, TAG_GO, MPI_COMM_WORLD);
    if (c->victim_sends) {
        for (i = 0; i < VICTIM_MESSAGES; i++)
            MPI_Isend(block, sizeof(block), MPI_CHAR, 1, TAG_DATA, MPI_COMM_WORLD, &requests[i]);
        MPI_Waitall(VICTIM_MESSAGES, requests, MPI_STATUSES_IGNORE);
    } else {
        MPI_Recv(block, sizeof(block), MPI_CHAR, 1, TAG_NEVER, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    die("the victim's transfer completed: the damage went unnoticed");
}

/* Damage the tunnel once the victim is where the case needs it, then stay
 * out of MPI (a release or a send would repair some of the damage). */
static void hostile(const struct hostile_case *c)
{
    MPI_Recv(NULL, 0, MPI_CHAR, 0, TAG_GO, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    c->damage(find_region());
    fprintf(stderr, "mpi_fault_test: rank 1 wrote %s\n", c->name);
    for (;;)
        pause();
}

/* Our job's id as Open MPI names processes with it (opal_process_name_t),
 * and idts its inboxes: ORTE (Open MPI 4.1) exports it to every rank;
 * Open MPI 5 derives it from the PMIx namespace PRRTE exports
 * ("prterun-HOST-PID@N"), as opal_pmix_convert_nspace() does: Open MPI's
 * string hash (OPAL_HASH_STR) of the part before the '@', folded to 16
 * bits, over the job number after it. */
static uint32_t job_id(void)
{
    const char *orte = getenv("OMPI_MCA_ess_base_jobid"), *nspace = getenv("PMIX_NAMESPACE");
    const char *at, *p;
    uint32_t hash = 0;

    if (orte)
        return (uint32_t)strtoul(orte, NULL, 10);
    if (!nspace)
        die("neither OMPI_MCA_ess_base_jobid nor PMIX_NAMESPACE in the environment");
    at = strrchr(nspace, '@');
    for (p = nspace; *p && p != at; p++) {
        hash += (uint32_t)(int)*p;
        hash += hash << 10;
        hash ^= hash >> 6;
    }
    hash += hash << 3;
    hash ^= hash >> 11;
    hash += hash << 15;
    return ((hash >> 16 ^ hash) & 0xffffu) << 16 | (at ? strtoul(at + 1, NULL, 10) & 0xffffu : 0);
}

/* The abstract address of the shm backend's socket for `name` (an inbox
 * "in-JOB-VPID", a tunnel "t-JOB-VPID-JOB-VPID"). */
static socklen_t shm_address(struct sockaddr_un *addr, const char *name)
{
    int n;

    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    n = snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1, "idts-%s", name);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* Take the name before idts does: the socket stays bound while we live. */
static void occupy(const char *name)
{
    struct sockaddr_un addr;
    socklen_t length = shm_address(&addr, name);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, length) != 0 || listen(fd, 1) != 0)
        die("could not bind the name idts will want");
}

/* An offer as the shm backend hands it over (struct shm_offer in
 * common/idts_backend_shm.c) for the tunnel between ranks 0 and 1, in rank
 * 1's inbox, with four descriptors where an offer has three. */
static void send_bad_offer(void)
{
    struct {
        uint32_t magic, reserved;
        uint64_t data_size;
        char key[64];
    } offer = {0x4d485349u, 0, 2u << 20, ""};
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = &offer, .iov_len = sizeof(offer)};
    struct msghdr m = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = control.buf,
                       .msg_controllen = sizeof(control.buf)};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&m);
    struct sockaddr_un addr;
    char inbox[64];
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0), fds[4];

    snprintf(offer.key, sizeof(offer.key), "t-%x-0-%x-1", (unsigned)job_id(), (unsigned)job_id());
    snprintf(inbox, sizeof(inbox), "in-%x-1", (unsigned)job_id());
    fds[0] = fds[1] = fds[2] = fds[3] = open("/dev/null", O_RDWR);
    memset(&control, 0, sizeof(control));
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
    memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
    if (fd < 0 || fds[0] < 0 ||
        connect(fd, (struct sockaddr *)&addr, shm_address(&addr, inbox)) != 0 ||
        sendmsg(fd, &m, 0) != (ssize_t)sizeof(offer))
        die("could not hand rank 1 the bad offer");
}

/* A knock as idts's shm backend carries it to the inbox of process `to` of
 * our job (a packet on a connection to the inbox: "IKNK", then the BTL's
 * knock: magic, jobid, vpid), claiming to be `from`. */
static void forge_knock(unsigned to, unsigned from)
{
    uint32_t knock[4] = {0x4b4e4b49u, 0x4b4e4f43u, job_id(), from};
    struct sockaddr_un addr;
    char inbox[64];
    socklen_t length;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

    snprintf(inbox, sizeof(inbox), "in-%x-%u", (unsigned)knock[2], to);
    length = shm_address(&addr, inbox);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, length) != 0 ||
        send(fd, knock, sizeof(knock), 0) != (ssize_t)sizeof(knock))
        die("could not send the forged knock");
    close(fd);
}

/* RANK dies before any tunnel to it exists; the other waits for it. */
static void die_first(int dying)
{
    int token = 1;

    if (rank == dying) {
        fprintf(stderr, "mpi_fault_test: rank %d kills itself\n", rank);
        raise(SIGKILL);
    }
    MPI_Send(&token, 1, MPI_INT, dying, TAG_DATA, MPI_COMM_WORLD);
    MPI_Recv(&token, 1, MPI_INT, dying, TAG_DATA, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    die("a dead rank answered");
}

/* Ranks 0 and 2 each ping-pong with rank 1 for `seconds`, never with each
 * other. */
static void exchange_with_middle(double seconds)
{
    double until = MPI_Wtime() + seconds;
    int token = 0, go = 1;

    while (go) {
        if (rank == 1) {
            go = MPI_Wtime() < until; /* one answer for both, each round */
            for (int peer = 0; peer <= 2; peer += 2) {
                MPI_Recv(&token, 1, MPI_INT, peer, TAG_DATA, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Send(&go, 1, MPI_INT, peer, TAG_DATA, MPI_COMM_WORLD);
            }
        } else {
            MPI_Send(&token, 1, MPI_INT, 1, TAG_DATA, MPI_COMM_WORLD);
            MPI_Recv(&go, 1, MPI_INT, 1, TAG_DATA, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
    }
}

static const struct hostile_case *find_case(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(cases[i].name, name) == 0)
            return &cases[i];
    return NULL;
}

static int usage(void)
{
    size_t i;

    if (rank == 0) {
        fprintf(stderr, "usage: mpi_fault_test die eager|rendezvous sender|receiver (2 ranks)\n"
                        "       mpi_fault_test die-first 0|1 (2 ranks)\n"
                        "       mpi_fault_test inbox-taken|bad-offer (2 ranks)\n"
                        "       mpi_fault_test forged-knock (3 ranks)\n"
                        "       mpi_fault_test hostile CASE (2 ranks), CASE one of:");
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
            fprintf(stderr, " %s", cases[i].name);
        fprintf(stderr, "\n");
    }
    MPI_Finalize();
    return 2;
}

int main(int argc, char **argv)
{
    const struct hostile_case *c;
    int nprocs;

    if (argc == 2 && strcmp(argv[1], "inbox-taken") == 0 &&
        strcmp(getenv("OMPI_COMM_WORLD_RANK") ? getenv("OMPI_COMM_WORLD_RANK") : "", "1") == 0) {
        char inbox[64];

        snprintf(inbox, sizeof(inbox), "in-%x-1", (unsigned)job_id());
        occupy(inbox);
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    if (argc == 2 && strcmp(argv[1], "forged-knock") == 0 && nprocs == 3) {
        if (rank == 1)
            forge_knock(0, 2);
        exchange_with_middle(3);
        MPI_Finalize();
        return 0;
    }
    if (nprocs != 2)
        return usage();
    if (argc == 3 && strcmp(argv[1], "die-first") == 0)
        die_first(atoi(argv[2]));
    if (argc == 2 && strcmp(argv[1], "bad-offer") == 0) {
        int token = 0;

        if (rank == 0) {
            send_bad_offer();
            MPI_Recv(&token, 1, MPI_INT, 1, TAG_DATA, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            sleep(2);
            MPI_Send(&token, 1, MPI_INT, 0, TAG_DATA, MPI_COMM_WORLD);
        }
        die("a tunnel was set up from a broken offer");
    }
    if (argc == 4 && strcmp(argv[1], "die") == 0) {
        size_t size = strcmp(argv[2], "eager") == 0 ? 1024 : 4 << 20;
        int dying = strcmp(argv[3], "sender") == 0 ? 0 : 1;

        warm_up();
        stream_until_death(size, dying);
    }
    if (argc != 3 || strcmp(argv[1], "hostile") != 0 || !(c = find_case(argv[2])))
        return usage();
    warm_up();
    if (rank == 0)
        victim(c);
    else
        hostile(c);
    return 1;
}
