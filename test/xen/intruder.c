/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * A domain outside an MPI job tries to get into one of the job's tunnels,
 * for test/xen: dom0 hands it, out of band, the real event-channel port and
 * grant references that another domain offered to its peer, so that what
 * keeps it out is the hypervisor, not secrecy.
 *
 *     intruder DOMID PORT REF...
 *
 * First the control: it grants a page to its own domain and maps it, and
 * binds an event channel of its own, so the calls work here. Then it tries
 * to map each REF of domain DOMID (xengnttab_map_grant_ref) and to bind
 * DOMID's PORT (xenevtchn_bind_interdomain), and prints one line for each:
 * "refused: ..." or "GOT IN: ...". Exit status 0 if every try was refused,
 * 1 if any succeeded, 2 if the control failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xentoollog.h>

/* Refusals are the expected answers: the libraries log only what is
 * critical (xtl_createlogger_stdiostream). */
static xentoollog_logger *quiet;

static int own_domid(unsigned *domid)
{
    struct xs_handle *xs = xs_open(0);
    unsigned len;
    char *value = xs ? xs_read(xs, XBT_NULL, "domid", &len) : NULL;
    int ok = value && sscanf(value, "%u", domid) == 1;

    free(value);
    if (xs)
        xs_close(xs);
    return ok;
}

/* A page granted to ourselves maps, and a channel of ours binds: 0 if so. */
static int control(unsigned self, xengnttab_handle *gt, xenevtchn_handle *ev)
{
    xengntshr_handle *gs = xengntshr_open(quiet, 0);
    xenevtchn_handle *other = xenevtchn_open(quiet, 0);
    uint32_t ref = 0;
    volatile char *shared = gs ? xengntshr_share_pages(gs, self, 1, &ref, 1) : NULL;
    volatile char *mapped =
        shared ? xengnttab_map_grant_ref(gt, self, ref, PROT_READ | PROT_WRITE) : NULL;
    xenevtchn_port_or_error_t unbound = other ? xenevtchn_bind_unbound_port(other, self) : -1;
    xenevtchn_port_or_error_t bound =
        unbound >= 0 ? xenevtchn_bind_interdomain(ev, self, (uint32_t)unbound) : -1;
    int ok;

    if (mapped)
        mapped[0] = 42;
    ok = mapped && shared[0] == 42 && bound >= 0;
    printf("control: a page this domain (%u) granted itself %s (ref %u), a channel of its own "
           "%s\n",
           self, mapped ? "maps" : "does NOT map", (unsigned)ref,
           bound >= 0 ? "binds" : "does NOT bind");
    if (mapped)
        xengnttab_unmap(gt, (void *)mapped, 1);
    if (shared)
        xengntshr_unshare(gs, (void *)shared, 1);
    if (bound >= 0)
        xenevtchn_unbind(ev, (evtchn_port_t)bound);
    if (other)
        xenevtchn_close(other);
    if (gs)
        xengntshr_close(gs);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    xengnttab_handle *gt;
    xenevtchn_handle *ev;
    unsigned self, domid, port;
    int i, got_in = 0;
    xenevtchn_port_or_error_t bound;

    quiet = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
    gt = xengnttab_open(quiet, 0);
    ev = xenevtchn_open(quiet, 0);

    if (argc < 4 || sscanf(argv[1], "%u", &domid) != 1 || sscanf(argv[2], "%u", &port) != 1) {
        fprintf(stderr, "usage: intruder DOMID PORT REF...\n");
        return 2;
    }
    if (!gt || !ev || !own_domid(&self)) {
        fprintf(stderr, "intruder: cannot open gntdev, evtchn or XenStore: %s\n", strerror(errno));
        return 2;
    }
    if (control(self, gt, ev))
        return 2;
    for (i = 3; i < argc; i++) {
        unsigned ref;
        void *page;

        if (sscanf(argv[i], "%u", &ref) != 1)
            continue;
        errno = 0;
        page = xengnttab_map_grant_ref(gt, domid, ref, PROT_READ);
        if (page) {
            printf("GOT IN: mapped grant %u of domain %u\n", ref, domid);
            xengnttab_unmap(gt, page, 1);
            got_in = 1;
        } else {
            printf("refused: map of grant %u of domain %u (%s)\n", ref, domid, strerror(errno));
        }
    }
    errno = 0;
    bound = xenevtchn_bind_interdomain(ev, domid, port);
    if (bound >= 0) {
        printf("GOT IN: bound to port %u of domain %u\n", port, domid);
        xenevtchn_unbind(ev, (evtchn_port_t)bound);
        got_in = 1;
    } else {
        printf("refused: bind to port %u of domain %u (%s)\n", port, domid, strerror(errno));
    }
    xenevtchn_close(ev);
    xengnttab_close(gt);
    return got_in;
}
