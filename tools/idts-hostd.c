/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * idts-hostd: tells every Xen domain of this host which host it runs on.
 *
 * A guest cannot learn from XenStore which other guests share its physical
 * host, so dom0 publishes one host identity into every domain's XenStore
 * area, at /local/domain/<domid>/idts/host, readable by that domain only and
 * writable by dom0 only (a guest cannot claim another host). idts's xen
 * backend in the guest reads it; ranks whose identities match are
 * co-resident and may share grant pages.
 *
 *   idts-hostd [--once] [--host-id ID] [--verbose]
 *
 * Without --once it stays and publishes to each domain as it appears
 * (XenStore's @introduceDomain, plus a rescan every few seconds). The host
 * identity defaults to "xen-" and dom0's /etc/machine-id (or, without one,
 * the kernel's boot id).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#define RESCAN_MS 5000
#define ID_MAX    80 /* as IDTS_ID_MAX: what the backend accepts */

static int verbose;

static int read_first_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    int ok = f && fgets(buf, (int)len, f) != NULL;

    if (f)
        fclose(f);
    buf[ok ? strcspn(buf, "\n") : 0] = '\0';
    return ok && buf[0];
}

static int default_host_id(char *id, size_t len)
{
    char line[64];

    if (!read_first_line("/etc/machine-id", line, sizeof(line)) &&
        !read_first_line("/proc/sys/kernel/random/boot_id", line, sizeof(line)))
        return 0;
    snprintf(id, len, "xen-%s", line);
    return 1;
}

/* The characters the backend accepts in a host identity. */
static int host_id_valid(const char *id)
{
    size_t n = strlen(id);

    return n > 0 && n < ID_MAX &&
           strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") == n;
}

static int publish(struct xs_handle *xs, unsigned domid, const char *host_id)
{
    struct xs_permissions perms[2] = {{.id = 0, .perms = XS_PERM_NONE},
                                      {.id = domid, .perms = XS_PERM_READ}};
    char path[64];
    unsigned len;
    char *old;
    xs_transaction_t t;

    snprintf(path, sizeof(path), "/local/domain/%u/idts/host", domid);
    old = xs_read(xs, XBT_NULL, path, &len);
    if (old && strcmp(old, host_id) == 0) {
        free(old);
        return 0;
    }
    free(old);
    do {
        t = xs_transaction_start(xs);
        if (t == XBT_NULL)
            return -errno;
        if (!xs_write(xs, t, path, host_id, (unsigned)strlen(host_id)) ||
            !xs_set_permissions(xs, t, path, perms, domid == 0 ? 1 : 2)) {
            int rc = -errno;

            xs_transaction_end(xs, t, true);
            return rc;
        }
    } while (!xs_transaction_end(xs, t, false) && errno == EAGAIN);
    if (verbose)
        fprintf(stderr, "idts-hostd: domain %u: host %s\n", domid, host_id);
    return 0;
}

/* Publish to every domain in XenStore; the number of failures. */
static int publish_all(struct xs_handle *xs, const char *host_id)
{
    unsigned n, i, domid;
    char **domains = xs_directory(xs, XBT_NULL, "/local/domain", &n);
    int failed = 0;

    if (!domains) {
        fprintf(stderr, "idts-hostd: cannot list /local/domain: %s\n", strerror(errno));
        return 1;
    }
    for (i = 0; i < n; i++) {
        char *end;
        int rc;

        domid = (unsigned)strtoul(domains[i], &end, 10);
        if (*end)
            continue;
        rc = publish(xs, domid, host_id);
        if (rc) {
            /* A domain being torn down vanishes under us: not an error. */
            if (rc != -ENOENT)
                fprintf(stderr, "idts-hostd: domain %u: %s\n", domid, strerror(-rc));
            failed += rc != -ENOENT;
        }
    }
    free(domains);
    return failed;
}

static int serve(struct xs_handle *xs, const char *host_id)
{
    struct pollfd fd = {.events = POLLIN};
    char **event;

    if (!xs_watch(xs, "@introduceDomain", "introduce")) {
        fprintf(stderr, "idts-hostd: cannot watch @introduceDomain: %s\n", strerror(errno));
        return 1;
    }
    fd.fd = xs_fileno(xs);
    for (;;) {
        publish_all(xs, host_id);
        if (poll(&fd, 1, RESCAN_MS) < 0 && errno != EINTR)
            return 1;
        while ((event = xs_check_watch(xs)))
            free(event);
    }
}

static void usage(int status)
{
    fprintf(status ? stderr : stdout,
            "usage: idts-hostd [--once] [--host-id ID] [--verbose]\n"
            "Publish this host's identity to every Xen domain (run in dom0).\n"
            "  --once      publish to the domains there now, then exit\n"
            "  --host-id   the identity (default: xen-<machine-id>)\n"
            "  --verbose   say what is published where\n");
    exit(status);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"once", no_argument, NULL, 'o'},
                                             {"host-id", required_argument, NULL, 'i'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    char host_id[ID_MAX] = "", *domid;
    struct xs_handle *xs;
    unsigned len;
    int once = 0, c, rc;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            once = 1;
            break;
        case 'i':
            snprintf(host_id, sizeof(host_id), "%s", optarg);
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            usage(0);
            break;
        default:
            usage(2);
        }
    }
    if (!host_id[0] && !default_host_id(host_id, sizeof(host_id))) {
        fprintf(stderr, "idts-hostd: no /etc/machine-id or boot id: give --host-id\n");
        return 2;
    }
    if (!host_id_valid(host_id)) {
        fprintf(stderr, "idts-hostd: host id \"%s\": use 1 to %d of [A-Za-z0-9._:-]\n", host_id,
                ID_MAX - 1);
        return 2;
    }
    xs = xs_open(0);
    if (!xs) {
        fprintf(stderr,
                "idts-hostd: cannot connect to XenStore (%s): run it in dom0 with xenstored "
                "running\n",
                strerror(errno));
        return 1;
    }
    domid = xs_read(xs, XBT_NULL, "domid", &len);
    if (!domid || strcmp(domid, "0") != 0) {
        fprintf(stderr, "idts-hostd: this is %s, not dom0: run idts-hostd in dom0\n",
                domid ? "a guest" : "not a domain with a domid in XenStore");
        free(domid);
        xs_close(xs);
        return 1;
    }
    free(domid);
    rc = once ? publish_all(xs, host_id) != 0 : serve(xs, host_id);
    xs_close(xs);
    return rc;
}
