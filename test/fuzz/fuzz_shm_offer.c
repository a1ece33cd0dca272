/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Fuzz target "shm_offer": what an attacher takes from a creator over the
 * shm backend's inbox (common/idts_backend_shm.c, map()): the offer message
 * and the descriptors sent with it, as a hostile process of the same user
 * sends them. The harness is that creator, for real: it connects to the
 * abstract SOCK_SEQPACKET socket the backend listens on ("idts-" and the
 * inbox key, the shm ends' contract) and sends memfds, eventfds, pipes and
 * sockets. map() must take exactly the offers the backend documents, map
 * what it took in full, refuse a broken offer for its key (and only then
 * say anything but "not yet"), and leave no descriptor of the creator's
 * open once the backend is closed.
 */
#define _GNU_SOURCE
#include "fuzz_ops.h"
#include "fuzz_program.h"
#include "idts_abi.h"
#include "idts_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define OFFER_MAGIC     0x4d485349u /* "ISHM" */
#define OFFER_FDS       3
#define MAX_FDS         6
#define MEMFD_SIZE_MAX  (IDTS_CTRL_SIZE + (2u << 20)) /* keeps each run fast */
#define SEALS_NOT_ALLOW 0x80u

struct offer {
    uint32_t magic;
    uint32_t reserved;
    uint64_t data_size;
    char key[IDTS_KEY_MAX];
};

static struct idts_backend be;
static char key[IDTS_KEY_MAX], inbox[IDTS_KEY_MAX];

static int count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    int n = 0;

    fuzz_check(dir, "/proc/self/fd: %s", strerror(errno));
    while (readdir(dir))
        n++;
    closedir(dir);
    return n;
}

/* The attacher's backend, listening on its inbox, afresh for every input:
 * what an input left in it is closed with it. */
static void open_attacher(void)
{
    snprintf(key, sizeof(key), "fuzz-offer-%d", (int)getpid());
    snprintf(inbox, sizeof(inbox), "fuzz-inbox-%d", (int)getpid());
    fuzz_check(idts_backend_open(&be, "shm") == 0, "no shm backend: %s", be.why);
    fuzz_check(be.ops->listen(&be, inbox) == 0, "cannot listen: %s", strerror(errno));
}

/* The creator's connection to the attacher's inbox. */
static int connect_inbox(void)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int n = snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "idts-%s", inbox);
    int conn = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    fuzz_check(conn >= 0 && connect(conn, (struct sockaddr *)&addr,
                                    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                                                (size_t)n)) == 0,
               "cannot connect to the inbox: %s", strerror(errno));
    return conn;
}

/* What the attacher must find to take the offer. */
struct expectation {
    int ours;     /* a message that is an offer for our key, sent */
    int valid;    /* an offer as documented */
    int may_fail; /* valid, but the memfd refuses a writable shared mapping */
    uint64_t offered;
};

static int memfd_of(struct fuzz_input *in, uint64_t offered, struct expectation *e, int first)
{
    uint8_t seals = fuzz_u8(in);
    uint64_t size = fuzz_u8(in) ? fuzz_u32(in) % MEMFD_SIZE_MAX : IDTS_CTRL_SIZE + offered;
    unsigned flags = MFD_CLOEXEC | (seals & SEALS_NOT_ALLOW ? 0 : MFD_ALLOW_SEALING);
    int fd = memfd_create("fuzz", flags), add = seals & (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
                                                         F_SEAL_WRITE | F_SEAL_FUTURE_WRITE);

    if (size > MEMFD_SIZE_MAX)
        size = 0;
    fuzz_check(fd >= 0 && ftruncate(fd, (off_t)size) == 0, "memfd: %s", strerror(errno));
    if (!(seals & SEALS_NOT_ALLOW) && add)
        fuzz_check(fcntl(fd, F_ADD_SEALS, add) == 0, "seals: %s", strerror(errno));
    if (first) {
        e->valid &=
            !(seals & SEALS_NOT_ALLOW) && (add & F_SEAL_SHRINK) && size == IDTS_CTRL_SIZE + offered;
        e->may_fail = (add & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0;
    }
    return fd;
}

/* A descriptor to send, and the other end of a pair to close. */
static int fd_of(struct fuzz_input *in, uint64_t offered, struct expectation *e, int first)
{
    int pair[2], fd;

    switch (fuzz_u8(in) % FDS) {
    case FD_MEMFD:
        return memfd_of(in, offered, e, first);
    case FD_EVENTFD:
        fd = eventfd(0, EFD_CLOEXEC);
        break;
    case FD_PIPE:
        fd = pipe2(pair, O_CLOEXEC) == 0 ? pair[0] : -1;
        if (fd >= 0)
            close(pair[1]);
        break;
    case FD_DEV_NULL:
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        break;
    default:
        fd = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0 ? pair[0] : -1;
        if (fd >= 0)
            close(pair[1]);
        break;
    }
    fuzz_check(fd >= 0, "cannot make a descriptor: %s", strerror(errno));
    e->valid &= !first;
    return fd;
}

/* The message, and what it says the data size is. */
static size_t message_of(struct fuzz_input *in, uint8_t flags, struct offer *msg,
                         struct expectation *e)
{
    size_t length;

    memset(msg, 0, sizeof(*msg));
    if (flags & 2) {
        length = fuzz_u8(in) % (sizeof(*msg) + 1);
        fuzz_bytes(in, msg, length);
    } else {
        length = sizeof(*msg);
        msg->data_size = (uint64_t)IDTS_RING_MIN_SIZE << fuzz_u8(in) % 10;
        msg->magic = fuzz_u8(in) ? OFFER_MAGIC : ~OFFER_MAGIC;
        snprintf(msg->key, sizeof(msg->key), "%s", key);
    }
    e->offered = msg->data_size;
    e->ours = length == sizeof(*msg) && msg->magic == OFFER_MAGIC &&
              strncmp(msg->key, key, sizeof(msg->key)) == 0;
    e->valid = e->ours && msg->data_size > 0 && msg->data_size <= 2 * (uint64_t)IDTS_RING_MAX_SIZE;
    return length;
}

static void send_offer(int conn, struct fuzz_input *in, struct expectation *e)
{
    uint8_t flags = fuzz_u8(in);
    struct offer msg;
    size_t length = message_of(in, flags, &msg, e);
    unsigned n = fuzz_u8(in) % (MAX_FDS + 1), i;
    int fds[MAX_FDS];
    union {
        char buf[CMSG_SPACE(sizeof(fds))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = &msg, .iov_len = length};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    struct cmsghdr *cmsg;

    for (i = 0; i < n; i++)
        fds[i] = fd_of(in, e->offered, e, i == 0);
    e->valid &= n == OFFER_FDS;
    if (n > 0) {
        memset(&control, 0, sizeof(control));
        m.msg_control = control.buf;
        m.msg_controllen = CMSG_SPACE(n * sizeof(int));
        cmsg = CMSG_FIRSTHDR(&m);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(n * sizeof(int));
        memcpy(CMSG_DATA(cmsg), fds, n * sizeof(int));
    }
    /* A creator that hangs up without a word is no offer. */
    if (!(flags & 1))
        fuzz_check(sendmsg(conn, &m, MSG_NOSIGNAL) == (ssize_t)length, "sendmsg: %s",
                   strerror(errno));
    e->ours &= !(flags & 1);
    e->valid &= e->ours;
    for (i = 0; i < n; i++)
        close(fds[i]);
}

/* A link that map() returned must be the offered region, mapped whole. */
static void check_mapped(const struct idts_link *link, const struct expectation *e)
{
    volatile const uint8_t *data = link->data;

    fuzz_check(link->ctrl && link->data && link->data_size == e->offered,
               "mapped %zu bytes of an offer of %llu", link->data_size,
               (unsigned long long)e->offered);
    (void)*(volatile const uint8_t *)link->ctrl;
    (void)data[link->data_size - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    struct idts_link link = {.live_offset = offsetof(struct idts_ctrl, attacher_live)};
    struct expectation e = {0};
    int before = count_fds(), conn, rc;

    open_attacher();
    rc = be.ops->map(&be, be.instance, key, &link);
    fuzz_check(rc == -EAGAIN, "map before the creator sent anything: %d", rc);
    conn = connect_inbox();
    send_offer(conn, &in, &e);
    close(conn);
    rc = be.ops->map(&be, be.instance, key, &link);
    fuzz_check(rc != 0 || e.valid, "took an offer the backend does not document");
    fuzz_check(rc == 0 || !e.valid || e.may_fail, "refused a valid offer: %d", rc);
    fuzz_check((rc == -EAGAIN) == !e.ours, "%s (%d)",
               e.ours ? "an offer for our key sent in full is not there yet"
                      : "a message that is no offer for our key answered",
               rc);
    if (rc == 0)
        check_mapped(&link, &e);
    be.ops->unlink(&be, &link);
    idts_backend_close(&be);
    fuzz_check(count_fds() == before, "%d descriptors left open", count_fds() - before);
    return 0;
}
