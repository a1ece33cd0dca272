/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * The shm backend: ends are processes under one kernel.
 *
 * The region is a sealed memfd, so nothing is ever named in /dev/shm and
 * nothing outlives the last process that maps it. The creator publishes it by
 * listening on an abstract Unix socket named after the key (abstract names
 * vanish with their socket, so a killed job leaves nothing behind). The
 * attacher connects and receives the memfd and two eventfds, one per
 * direction, with SCM_RIGHTS. The connection then stays open: when either
 * process dies the other sees the socket hang up, which is this backend's
 * equivalent of xen's unmap-notify.
 */
#define _GNU_SOURCE
#include "idts_abi.h"
#include "idts_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SHM_OFFER_MAGIC 0x4d485349u /* "ISHM" */
#define SHM_OFFER_FDS   3
#define SHM_SEALS       (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* What the creator sends with three fds: the memfd, the eventfd the creator
 * sleeps on, the eventfd the attacher sleeps on. */
struct shm_offer {
    uint32_t magic;
    uint32_t reserved;
    uint64_t data_size;
};

/* The backend's own state: its knock inbox and the socket it knocks from. */
struct shm_backend {
    int inbox_fd;
    int knock_fd;
};

struct shm_link {
    void *base;
    size_t size;
    int memfd;     /* creator, until handed over */
    int wake_fd;   /* eventfd we sleep on */
    int kick_fd;   /* eventfd the other end sleeps on */
    int listen_fd; /* creator, while published */
    int sock_fd;   /* the connection: liveness of the other end */
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static struct shm_link *link_new(void)
{
    struct shm_link *sl = calloc(1, sizeof(*sl));

    if (sl)
        sl->memfd = sl->wake_fd = sl->kick_fd = sl->listen_fd = sl->sock_fd = -1;
    return sl;
}

static int read_boot_id(char *buf, size_t len)
{
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    int ok = f && fgets(buf, (int)len, f) != NULL;

    if (f)
        fclose(f);
    if (!ok)
        return -errno;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* One kernel and one network namespace (abstract sockets live in the latter). */
static int shm_be_open(struct idts_backend *be)
{
    struct shm_backend *sb;
    char boot_id[40];
    struct stat netns;
    int rc = read_boot_id(boot_id, sizeof(boot_id));

    if (rc == 0 && stat("/proc/self/ns/net", &netns) != 0)
        rc = -errno;
    if (rc) {
        snprintf(be->why, sizeof(be->why), "cannot read the kernel's identity from /proc: %s",
                 strerror(-rc));
        return -ENODEV;
    }
    snprintf(be->host, sizeof(be->host), "%s.%lu", boot_id, (unsigned long)netns.st_ino);
    memcpy(be->instance, be->host, sizeof(be->instance));
    be->share_size = 2u << 20;
    sb = malloc(sizeof(*sb));
    if (!sb)
        return -ENOMEM;
    sb->inbox_fd = -1;
    sb->knock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sb->knock_fd < 0) {
        rc = -errno;
        free(sb);
        snprintf(be->why, sizeof(be->why), "cannot create a Unix socket: %s", strerror(-rc));
        return rc;
    }
    be->priv = sb;
    return 0;
}

static void shm_be_close(struct idts_backend *be)
{
    struct shm_backend *sb = be->priv;

    close_fd(&sb->inbox_fd);
    close_fd(&sb->knock_fd);
    free(sb);
    be->priv = NULL;
}

/* Both ends map every page up front: a ring's first pass would otherwise
 * take a page fault every 4 KiB at each end, which costs small messages more
 * than their copy (half of 8-byte latency in the first 30000 messages). */
static int map_region(struct shm_link *sl, struct idts_link *link, size_t data_size)
{
    sl->size = IDTS_CTRL_SIZE + data_size;
    sl->base =
        mmap(NULL, sl->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, sl->memfd, 0);
    if (sl->base == MAP_FAILED) {
        sl->base = NULL;
        return -errno;
    }
    link->ctrl = sl->base;
    link->data = (uint8_t *)sl->base + IDTS_CTRL_SIZE;
    link->data_size = data_size;
    return 0;
}

static int shm_be_share(struct idts_backend *be, const char *peer, size_t data_size,
                        struct idts_link *link)
{
    struct shm_link *sl;

    if (strcmp(peer, be->instance) != 0)
        return -EHOSTUNREACH;
    sl = link_new();
    if (!sl)
        return -ENOMEM;
    link->priv = sl;
    /* The pages are allocated here, where a shortage is an error we can
     * report, not a SIGBUS at the first write into a hole. */
    sl->memfd = memfd_create("idts", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (sl->memfd < 0 || ftruncate(sl->memfd, (off_t)(IDTS_CTRL_SIZE + data_size)) != 0 ||
        fallocate(sl->memfd, 0, 0, (off_t)(IDTS_CTRL_SIZE + data_size)) != 0 ||
        fcntl(sl->memfd, F_ADD_SEALS, SHM_SEALS) != 0)
        return -errno;
    sl->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    sl->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (sl->wake_fd < 0 || sl->kick_fd < 0)
        return -errno;
    return map_region(sl, link, data_size);
}

static socklen_t socket_name(const char *key, struct sockaddr_un *addr)
{
    int n;

    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    n = snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1, "idts-%s", key);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int shm_be_publish(struct idts_backend *be, struct idts_link *link, const char *key)
{
    struct shm_link *sl = link->priv;
    struct sockaddr_un addr;
    socklen_t len = socket_name(key, &addr);

    (void)be;
    sl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sl->listen_fd < 0 || bind(sl->listen_fd, (struct sockaddr *)&addr, len) != 0 ||
        listen(sl->listen_fd, 4) != 0)
        return -errno;
    return 0;
}

/* Only processes of our own user may take or hand over a region. */
static int same_user(int sock)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    return getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == geteuid();
}

static int send_offer(struct shm_link *sl, size_t data_size)
{
    struct shm_offer offer = {.magic = SHM_OFFER_MAGIC, .data_size = data_size};
    int fds[SHM_OFFER_FDS] = {sl->memfd, sl->wake_fd, sl->kick_fd};
    char control[CMSG_SPACE(sizeof(fds))];
    struct iovec iov = {.iov_base = &offer, .iov_len = sizeof(offer)};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control,
                         .msg_controllen = sizeof(control)};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

    memset(control, 0, sizeof(control));
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
    memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
    if (sendmsg(sl->sock_fd, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(offer))
        return -errno;
    return 0;
}

static int shm_be_accept(struct idts_backend *be, struct idts_link *link)
{
    struct shm_link *sl = link->priv;
    int rc;

    (void)be;
    if (sl->sock_fd >= 0)
        return 0;
    sl->sock_fd = accept4(sl->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (sl->sock_fd < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (!same_user(sl->sock_fd)) {
        close_fd(&sl->sock_fd);
        return -EAGAIN;
    }
    rc = send_offer(sl, link->data_size);
    if (rc) {
        close_fd(&sl->sock_fd);
        return rc;
    }
    close_fd(&sl->listen_fd);
    close_fd(&sl->memfd);
    return 0;
}

/* Keep the first SHM_OFFER_FDS descriptors a message brought in fds and
 * close the others: every one received is ours, wanted or not. Returns how
 * many came. */
static size_t take_fds(struct msghdr *msg, int fds[SHM_OFFER_FDS])
{
    struct cmsghdr *cmsg;
    size_t count = 0, n, i;
    int fd;

    for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
            continue;
        n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < n; i++, count++) {
            memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(fd));
            if (count < SHM_OFFER_FDS)
                fds[count] = fd;
            else
                close(fd);
        }
    }
    return count;
}

/* Receive the offer; a malformed one (wrong size, fd count) is -EPROTO. */
static int receive_offer(struct shm_link *sl, struct shm_offer *offer, int fds[SHM_OFFER_FDS])
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * SHM_OFFER_FDS)];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = offer, .iov_len = sizeof(*offer)};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    ssize_t n = recvmsg(sl->sock_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    size_t nfds;

    /* The creator hung up before handing the region over. */
    if (n == 0 || (n < 0 && errno == ECONNRESET))
        return -EPIPE;
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    nfds = take_fds(&msg, fds);
    if (n != (ssize_t)sizeof(*offer) || nfds != SHM_OFFER_FDS || (msg.msg_flags & MSG_CTRUNC) ||
        offer->magic != SHM_OFFER_MAGIC)
        return -EPROTO;
    return 0;
}

/* The memfd must be exactly as large as offered and unable to shrink. */
static int check_memfd(int memfd, uint64_t data_size)
{
    struct stat st;
    int seals = fcntl(memfd, F_GET_SEALS);

    if (data_size == 0 || data_size > 2 * (uint64_t)IDTS_RING_MAX_SIZE || seals < 0 ||
        (seals & F_SEAL_SHRINK) == 0 || fstat(memfd, &st) != 0 ||
        (uint64_t)st.st_size != IDTS_CTRL_SIZE + data_size)
        return -EPROTO;
    return 0;
}

static int connect_to(struct shm_link *sl, const char *key)
{
    struct sockaddr_un addr;
    socklen_t len = socket_name(key, &addr);

    sl->sock_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sl->sock_fd < 0)
        return -errno;
    if (connect(sl->sock_fd, (struct sockaddr *)&addr, len) != 0) {
        int rc = errno == ECONNREFUSED || errno == EAGAIN ? -EAGAIN : -errno;

        close_fd(&sl->sock_fd);
        return rc;
    }
    return same_user(sl->sock_fd) ? 0 : -EACCES;
}

static int shm_be_map(struct idts_backend *be, const char *peer, const char *key,
                      struct idts_link *link)
{
    struct shm_link *sl = link->priv;
    struct shm_offer offer;
    int fds[SHM_OFFER_FDS] = {-1, -1, -1};
    int rc, i;

    if (strcmp(peer, be->instance) != 0)
        return -EHOSTUNREACH;
    if (!sl) {
        sl = link_new();
        if (!sl)
            return -ENOMEM;
        link->priv = sl;
    }
    if (sl->sock_fd < 0) {
        rc = connect_to(sl, key);
        if (rc)
            return rc;
    }
    rc = receive_offer(sl, &offer, fds);
    if (rc == 0)
        rc = check_memfd(fds[0], offer.data_size);
    /* Whatever the creator passed as eventfds, we must never block on them. */
    for (i = 1; rc == 0 && i < SHM_OFFER_FDS; i++)
        if (fcntl(fds[i], F_SETFL, O_NONBLOCK) != 0)
            rc = -EPROTO;
    if (rc) {
        for (i = 0; i < SHM_OFFER_FDS; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        return rc;
    }
    sl->memfd = fds[0];
    sl->kick_fd = fds[1];
    sl->wake_fd = fds[2];
    rc = map_region(sl, link, (size_t)offer.data_size);
    close_fd(&sl->memfd);
    return rc;
}

static int shm_be_notify(struct idts_link *link)
{
    struct shm_link *sl = link->priv;
    uint64_t one = 1;

    /* EAGAIN means the counter is already huge: the peer has a wake-up due. */
    if (write(sl->kick_fd, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN)
        return -errno;
    return 0;
}

/* Our eventfd and the connection of every link, then our knock inbox. */
static int shm_be_wait(struct idts_backend *be, struct idts_link *const *links, int n,
                       int timeout_ms)
{
    struct shm_backend *sb = be->priv;
    struct pollfd *fds = calloc(2 * (size_t)n + 1, sizeof(*fds));
    uint64_t count;
    int i, rc;

    if (!fds)
        return -ENOMEM;
    for (i = 0; i < n; i++) {
        struct shm_link *sl = links[i]->priv;

        fds[2 * i] = (struct pollfd){.fd = sl->wake_fd, .events = POLLIN};
        fds[2 * i + 1] = (struct pollfd){.fd = sl->sock_fd, .events = POLLIN};
    }
    fds[2 * n] = (struct pollfd){.fd = sb->inbox_fd, .events = POLLIN};
    rc = poll(fds, 2 * (nfds_t)n + 1, timeout_ms);
    if (rc < 0)
        rc = errno == EINTR ? 0 : -errno;
    else
        rc = rc == 0 ? -ETIMEDOUT : 0;
    for (i = 0; rc == 0 && i < n; i++)
        if (fds[2 * i].revents && read(fds[2 * i].fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
            rc = -errno;
    /* After the hand-over nothing is sent on a connection: readable is EOF. */
    for (i = 0; rc == 0 && i < n; i++)
        if (fds[2 * i + 1].revents)
            rc = -EPIPE;
    free(fds);
    return rc;
}

/* After the hand-over nothing is sent on the connection: readable is EOF. */
static int shm_be_check(struct idts_link *link)
{
    struct shm_link *sl = link->priv;
    struct pollfd fd = {.fd = sl->sock_fd, .events = POLLIN};

    return sl->sock_fd >= 0 && poll(&fd, 1, 0) > 0 ? -EPIPE : 0;
}

static void shm_be_unlink(struct idts_backend *be, struct idts_link *link)
{
    struct shm_link *sl = link->priv;

    (void)be;
    if (!sl)
        return;
    if (sl->base)
        munmap(sl->base, sl->size);
    close_fd(&sl->memfd);
    close_fd(&sl->wake_fd);
    close_fd(&sl->kick_fd);
    close_fd(&sl->listen_fd);
    close_fd(&sl->sock_fd);
    free(sl);
    link->priv = NULL;
    link->ctrl = link->data = NULL;
}

static int shm_be_listen(struct idts_backend *be, const char *key)
{
    struct shm_backend *sb = be->priv;
    struct sockaddr_un addr;
    socklen_t len = socket_name(key, &addr);

    if (sb->inbox_fd >= 0)
        return -EBUSY;
    sb->inbox_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sb->inbox_fd < 0 || bind(sb->inbox_fd, (struct sockaddr *)&addr, len) != 0) {
        int rc = -errno;

        close_fd(&sb->inbox_fd);
        return rc;
    }
    return 0;
}

static int shm_be_knock(struct idts_backend *be, const char *peer, const char *key, const void *msg,
                        size_t len)
{
    struct shm_backend *sb = be->priv;
    struct sockaddr_un addr;
    socklen_t addr_len = socket_name(key, &addr);

    if (strcmp(peer, be->instance) != 0)
        return -EHOSTUNREACH;
    if (sendto(sb->knock_fd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&addr, addr_len) ==
        (ssize_t)len)
        return 0;
    return errno == ECONNREFUSED || errno == EAGAIN ? -EAGAIN : -errno;
}

static int shm_be_knocked(struct idts_backend *be, void *msg, size_t len)
{
    struct shm_backend *sb = be->priv;
    ssize_t n;

    if (sb->inbox_fd < 0)
        return -EAGAIN;
    n = recv(sb->inbox_fd, msg, len, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return n > (ssize_t)len ? -EMSGSIZE : (int)n;
}

const struct idts_backend_ops idts_backend_shm = {
    .name = "shm",
    .open = shm_be_open,
    .close = shm_be_close,
    .share = shm_be_share,
    .publish = shm_be_publish,
    .accept = shm_be_accept,
    .map = shm_be_map,
    .notify = shm_be_notify,
    .wait = shm_be_wait,
    .check = shm_be_check,
    .unlink = shm_be_unlink,
    .listen = shm_be_listen,
    .knock = shm_be_knock,
    .knocked = shm_be_knocked,
};
