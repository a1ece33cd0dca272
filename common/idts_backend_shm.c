/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * The shm backend: ends are processes under one kernel.
 *
 * The region is a sealed memfd, so nothing is ever named in /dev/shm and
 * nothing outlives the last process that maps it. Every end listens on an
 * abstract SOCK_SEQPACKET socket named after its inbox key (abstract names
 * vanish with their socket, so a killed job leaves nothing behind). Others
 * reach it by connecting there: the kernel completes the connection and
 * holds what is sent on it until the end takes it, so an end busy elsewhere
 * for minutes is reached all the same, as XenStore holds a xen offer. A
 * connection carries one message:
 *   a knock: SHM_KNOCK_MAGIC, then the knocker's bytes; the knocker hangs up;
 *   an offer: struct shm_offer, with three fds: the memfd, the eventfd the
 *     creator sleeps on, the eventfd the attacher sleeps on. The creator
 *     keeps its end of the connection: when either process dies the other
 *     sees it hang up, which is this backend's equivalent of xen's
 *     unmap-notify.
 * Both ends of every connection check that the other runs as the same user.
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
#define SHM_KNOCK_MAGIC 0x4b4e4b49u /* "IKNK" */
#define SHM_OFFER_FDS   3
#define SHM_KNOCK_MAX   1024 /* bytes of one knock message, as on xen */
#define SHM_MAIL_MAX    4096 /* connections taken from the inbox, not yet claimed */
#define SHM_SEALS       (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* An offer: the region behind the three fds, for the tunnel `key`. */
struct shm_offer {
    uint32_t magic;
    uint32_t reserved;
    uint64_t data_size;
    char key[IDTS_KEY_MAX];
};

/* A connection taken from the inbox, and its message once it came. */
struct shm_mail {
    struct shm_mail *next;
    int sock;
    enum { MAIL_UNREAD, MAIL_KNOCK, MAIL_OFFER } kind;
    int error; /* an offer for a valid key that breaks the rules: -EPROTO */
    int fds[SHM_OFFER_FDS];
    union {
        struct shm_offer offer;
        struct {
            uint32_t length;
            uint8_t bytes[SHM_KNOCK_MAX];
        } knock;
    } u;
};

/* The backend's own state: its inbox and what was taken from it. */
struct shm_backend {
    int inbox_fd;
    struct shm_mail *mail; /* oldest first */
    unsigned mails;
};

struct shm_link {
    void *base;
    size_t size;
    int memfd;   /* creator, until handed over */
    int wake_fd; /* eventfd we sleep on */
    int kick_fd; /* eventfd the other end sleeps on */
    int sock_fd; /* the connection: liveness of the other end */
    /* Creator: where the offer goes, until it went. */
    char key[IDTS_KEY_MAX];
    char inbox[IDTS_KEY_MAX];
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
        sl->memfd = sl->wake_fd = sl->kick_fd = sl->sock_fd = -1;
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
    sb = calloc(1, sizeof(*sb));
    if (!sb)
        return -ENOMEM;
    sb->inbox_fd = -1;
    be->priv = sb;
    return 0;
}

static void mail_free(struct shm_mail *m)
{
    int i;

    close_fd(&m->sock);
    for (i = 0; i < SHM_OFFER_FDS; i++)
        close_fd(&m->fds[i]);
    free(m);
}

static void shm_be_close(struct idts_backend *be)
{
    struct shm_backend *sb = be->priv;
    struct shm_mail *m;

    close_fd(&sb->inbox_fd);
    while ((m = sb->mail)) {
        sb->mail = m->next;
        mail_free(m);
    }
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

/* Only processes of our own user may take or hand over a region. */
static int same_user(int sock)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    return getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == geteuid();
}

/* A connection to the inbox `key`: -EPIPE when nobody listens there,
 * -EAGAIN while its queue of connections is full. */
static int connect_inbox(const char *key, int *fd)
{
    struct sockaddr_un addr;
    socklen_t len = socket_name(key, &addr);
    int rc = 0;

    *fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return -errno;
    if (connect(*fd, (struct sockaddr *)&addr, len) != 0)
        rc = errno == ECONNREFUSED || errno == ENOENT ? -EPIPE : errno == EAGAIN ? -EAGAIN : -errno;
    else if (!same_user(*fd))
        rc = -EACCES;
    if (rc)
        close_fd(fd);
    return rc;
}

/* One message on a new connection, with fds. */
static int send_message(int fd, const void *msg, size_t len, const int *fds, size_t nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * SHM_OFFER_FDS)];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
    struct msghdr hdr = {.msg_iov = &iov, .msg_iovlen = 1};
    struct cmsghdr *cmsg;

    if (nfds) {
        memset(&control, 0, sizeof(control));
        hdr.msg_control = control.buf;
        hdr.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cmsg = CMSG_FIRSTHDR(&hdr);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
    }
    return sendmsg(fd, &hdr, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len ? 0 : -errno;
}

/* Hand the offer to the peer's inbox: 0 once it is there, -EAGAIN while
 * the inbox cannot take it (not there yet, or full). */
static int deliver(struct shm_link *sl, size_t data_size)
{
    struct shm_offer offer = {.magic = SHM_OFFER_MAGIC, .data_size = data_size};
    int fds[SHM_OFFER_FDS] = {sl->memfd, sl->wake_fd, sl->kick_fd};
    int fd, rc = connect_inbox(sl->inbox, &fd);

    if (rc)
        return rc == -EPIPE ? -EAGAIN : rc;
    memcpy(offer.key, sl->key, sizeof(offer.key));
    rc = send_message(fd, &offer, sizeof(offer), fds, SHM_OFFER_FDS);
    if (rc) {
        close(fd);
        /* An inbox that went away as we connected: its end is gone, which
         * is for the caller's look at the peer to say. */
        return rc == -EAGAIN || rc == -EPIPE || rc == -ECONNRESET ? -EAGAIN : rc;
    }
    sl->sock_fd = fd;
    close_fd(&sl->memfd);
    return 0;
}

/* The peer usually takes the offer at once; where its inbox could not take
 * it yet, accept() tries again. */
static int shm_be_publish(struct idts_backend *be, struct idts_link *link, const char *key,
                          const char *inbox)
{
    struct shm_link *sl = link->priv;
    int rc;

    (void)be;
    if (!idts_key_valid(inbox))
        return -EINVAL;
    snprintf(sl->key, sizeof(sl->key), "%s", key);
    snprintf(sl->inbox, sizeof(sl->inbox), "%s", inbox);
    rc = deliver(sl, link->data_size);
    return rc == -EAGAIN ? 0 : rc;
}

/* The hand-over is done when the attacher maps the region, which its live
 * byte tells the tunnel: -EAGAIN until then, whatever happens here. */
static int shm_be_accept(struct idts_backend *be, struct idts_link *link)
{
    struct shm_link *sl = link->priv;
    int rc;

    (void)be;
    if (sl->sock_fd < 0 && (rc = deliver(sl, link->data_size)) != 0)
        return rc;
    return -EAGAIN;
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

/* Read the message of a mail: 0 when it came (or is not there yet), -1
 * for a connection that brings nothing we can use (drop it). */
static int read_mail(struct shm_mail *m)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * SHM_OFFER_FDS)];
        struct cmsghdr align;
    } control;
    union {
        uint32_t magic;
        struct shm_offer offer;
        uint8_t knock[sizeof(uint32_t) + SHM_KNOCK_MAX];
    } in;
    struct iovec iov = {.iov_base = &in, .iov_len = sizeof(in)};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    ssize_t n = recvmsg(m->sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    size_t nfds;

    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    nfds = take_fds(&msg, m->fds);
    if (n >= (ssize_t)sizeof(uint32_t) && in.magic == SHM_KNOCK_MAGIC && nfds == 0 &&
        !(msg.msg_flags & MSG_TRUNC)) {
        m->kind = MAIL_KNOCK;
        m->u.knock.length = (uint32_t)n - sizeof(uint32_t);
        memcpy(m->u.knock.bytes, in.knock + sizeof(uint32_t), m->u.knock.length);
        close_fd(&m->sock);
        return 0;
    }
    /* An offer names its tunnel; one that breaks the rules fails that
     * tunnel's attacher (-EPROTO), not some other. */
    if (n != (ssize_t)sizeof(in.offer) || in.magic != SHM_OFFER_MAGIC ||
        memchr(in.offer.key, '\0', sizeof(in.offer.key)) == NULL || !idts_key_valid(in.offer.key))
        return -1;
    m->kind = MAIL_OFFER;
    m->u.offer = in.offer;
    if (nfds != SHM_OFFER_FDS || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)))
        m->error = -EPROTO;
    return 0;
}

/* Take what came to the inbox: new connections, and the message of each
 * that has none read yet. */
static void pump(struct shm_backend *sb)
{
    struct shm_mail **link, *m;
    int fd;

    while (sb->mails < SHM_MAIL_MAX &&
           (fd = accept4(sb->inbox_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        if (!same_user(fd) || !(m = calloc(1, sizeof(*m)))) {
            close(fd);
            continue;
        }
        m->sock = fd;
        m->fds[0] = m->fds[1] = m->fds[2] = -1;
        for (link = &sb->mail; *link; link = &(*link)->next)
            ;
        *link = m;
        sb->mails++;
    }
    for (link = &sb->mail; (m = *link);) {
        if (m->kind == MAIL_UNREAD && read_mail(m) != 0) {
            *link = m->next;
            sb->mails--;
            mail_free(m);
        } else {
            link = &m->next;
        }
    }
}

/* The oldest mail that `match` accepts, out of the list; or NULL. */
static struct shm_mail *take_mail(struct shm_backend *sb,
                                  int (*match)(const struct shm_mail *, const char *),
                                  const char *key)
{
    struct shm_mail **link, *m;

    if (sb->inbox_fd < 0)
        return NULL;
    pump(sb);
    for (link = &sb->mail; (m = *link); link = &m->next)
        if (match(m, key)) {
            *link = m->next;
            sb->mails--;
            return m;
        }
    return NULL;
}

static int is_knock(const struct shm_mail *m, const char *key)
{
    (void)key;
    return m->kind == MAIL_KNOCK;
}

static int is_offer_for(const struct shm_mail *m, const char *key)
{
    return m->kind == MAIL_OFFER && strcmp(m->u.offer.key, key) == 0;
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

/* Take over an offer's connection and fds, checked: the link owns them. */
static int take_offer(struct shm_link *sl, struct shm_mail *m, struct idts_link *link)
{
    uint64_t data_size = m->u.offer.data_size;
    int rc = m->error ? m->error : check_memfd(m->fds[0], data_size), i;

    /* Whatever the creator passed as eventfds, we must never block on them. */
    for (i = 1; rc == 0 && i < SHM_OFFER_FDS; i++)
        if (fcntl(m->fds[i], F_SETFL, O_NONBLOCK) != 0)
            rc = -EPROTO;
    if (rc) {
        mail_free(m);
        return rc;
    }
    sl->sock_fd = m->sock;
    sl->memfd = m->fds[0];
    sl->kick_fd = m->fds[1];
    sl->wake_fd = m->fds[2];
    free(m);
    rc = map_region(sl, link, (size_t)data_size);
    close_fd(&sl->memfd);
    return rc;
}

static int shm_be_map(struct idts_backend *be, const char *peer, const char *key,
                      struct idts_link *link)
{
    struct shm_link *sl = link->priv;
    struct shm_mail *m;

    if (strcmp(peer, be->instance) != 0)
        return -EHOSTUNREACH;
    if (!sl) {
        sl = link_new();
        if (!sl)
            return -ENOMEM;
        link->priv = sl;
    }
    m = take_mail(be->priv, is_offer_for, key);
    return m ? take_offer(sl, m, link) : -EAGAIN;
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

/* Our eventfd and the connection of every link, then our inbox. */
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

static int shm_be_fds(struct idts_backend *be, struct idts_link *link, int *fds, int max)
{
    struct shm_backend *sb = be->priv;
    struct shm_link *sl = link ? link->priv : NULL;
    int candidates[2] = {sl ? sl->wake_fd : sb->inbox_fd, sl ? sl->sock_fd : -1}, i, n = 0;

    for (i = 0; i < 2 && n < max; i++)
        if (candidates[i] >= 0)
            fds[n++] = candidates[i];
    return n;
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
    sb->inbox_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sb->inbox_fd < 0 || bind(sb->inbox_fd, (struct sockaddr *)&addr, len) != 0 ||
        listen(sb->inbox_fd, SOMAXCONN) != 0) {
        int rc = -errno;

        close_fd(&sb->inbox_fd);
        return rc;
    }
    return 0;
}

static int shm_be_knock(struct idts_backend *be, const char *peer, const char *key, const void *msg,
                        size_t len)
{
    uint8_t packet[sizeof(uint32_t) + SHM_KNOCK_MAX];
    uint32_t magic = SHM_KNOCK_MAGIC;
    int fd, rc;

    if (strcmp(peer, be->instance) != 0)
        return -EHOSTUNREACH;
    if (len > SHM_KNOCK_MAX)
        return -EMSGSIZE;
    rc = connect_inbox(key, &fd);
    if (rc)
        return rc == -EPIPE ? -EAGAIN : rc;
    memcpy(packet, &magic, sizeof(magic));
    memcpy(packet + sizeof(magic), msg, len);
    rc = send_message(fd, packet, sizeof(magic) + len, NULL, 0);
    close(fd);
    return rc;
}

static void shm_be_unknock(struct idts_backend *be, const char *peer, const char *key)
{
    (void)be, (void)peer, (void)key;
}

static int shm_be_knocked(struct idts_backend *be, void *msg, size_t len)
{
    struct shm_mail *m = take_mail(be->priv, is_knock, NULL);
    uint32_t n;

    if (!m)
        return -EAGAIN;
    n = m->u.knock.length;
    memcpy(msg, m->u.knock.bytes, n < len ? n : len);
    mail_free(m);
    return n > len ? -EMSGSIZE : (int)n;
}

/* A connection that finds nobody is refused. One that does costs the peer
 * an empty connection, which its inbox drops. */
static int shm_be_listening(struct idts_backend *be, const char *peer, const char *key)
{
    int fd, rc;

    if (strcmp(peer, be->instance) != 0)
        return -EHOSTUNREACH;
    rc = connect_inbox(key, &fd);
    if (rc == 0)
        close(fd);
    return rc == -EAGAIN || rc == -EACCES ? 0 : rc;
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
    .unknock = shm_be_unknock,
    .knocked = shm_be_knocked,
    .fds = shm_be_fds,
    .listening = shm_be_listening,
};
