/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * idts-info: what idts will do on this machine, and why.
 *
 * The backends are opened with idts_backend_open(), the code the component
 * runs in MPI_Init, so the answer is the component's own: which backend
 * "auto" (btl_idts_backend's default) picks, and why each backend works here
 * or not. Then it shows what the xen backend needs as it finds it here (the
 * hypervisor, xenfs, modules, devices and this user's access to them, the
 * domain and its host identity, the grant budget) and says what to fix.
 *
 *   idts-info [--require auto|xen|shm]
 *
 * Exit status: 0 when the required backend (default auto: any) works here,
 * 1 when it does not, 2 on bad usage.
 */
#define _GNU_SOURCE
#include "idts_abi.h"
#include "idts_backend.h"
#ifdef IDTS_HAVE_XEN
#include "idts_xen_grants.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXES_MAX   16
#define GRANT_LIMIT IDTS_XEN_GRANT_LIMIT
#define UDEV_RULE_FIX                                                                              \
    "a udev rule, e.g. KERNEL==\"gntdev|gntalloc|evtchn|xenbus\", GROUP=\"mpi\", MODE=\"0660\""

/* What the xen backend opens; the module that provides each device. */
struct xen_device {
    const char *path;
    const char *module; /* as modprobe names it; NULL: built into the kernel */
    const char *sysfs;  /* as /sys/module names it */
};

static const struct xen_device xen_devices[] = {
    {"/dev/xen/xenbus", NULL, NULL},
    {"/dev/xen/evtchn", "xen-evtchn", "xen_evtchn"},
    {"/dev/xen/gntdev", "xen-gntdev", "xen_gntdev"},
    {"/dev/xen/gntalloc", "xen-gntalloc", "xen_gntalloc"},
};

static char fixes[FIXES_MAX][256];
static int fix_count;

static void add_fixv(const char *format, va_list args)
{
    if (fix_count < FIXES_MAX)
        vsnprintf(fixes[fix_count++], sizeof(fixes[0]), format, args);
}

static void add_fix(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    add_fixv(format, args);
    va_end(args);
}

/* A fix for a device, unless the xen backend's own reason already names it. */
static void device_fix(const char *why, const struct xen_device *d, const char *format, ...)
{
    va_list args;

    if (strstr(why, d->path))
        return;
    va_start(args, format);
    add_fixv(format, args);
    va_end(args);
}

static void fact(const char *label, const char *format, ...)
{
    va_list args;

    printf("  %-15s ", label);
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    putchar('\n');
}

static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static int read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    int ok = f && fgets(buf, (int)len, f) != NULL;

    if (f)
        fclose(f);
    buf[ok ? strcspn(buf, "\n") : 0] = '\0';
    return ok;
}

static int xenfs_mounted(void)
{
    FILE *f = fopen("/proc/mounts", "r");
    char device[256], dir[256], type[64];
    int found = 0;

    while (f && !found && fscanf(f, "%255s %255s %63s %*[^\n]", device, dir, type) == 3)
        found = strcmp(type, "xenfs") == 0 && strcmp(dir, "/proc/xen") == 0;
    if (f)
        fclose(f);
    return found;
}

static int module_loaded(const char *sysfs)
{
    char path[128];

    snprintf(path, sizeof(path), "/sys/module/%s", sysfs);
    return exists(path);
}

/* One backend opened as the component opens it, and its outcome in words.
 * Its state stays in *be for what follows: host and instance are kept even
 * when the open failed, as far as it got. */
static int report_backend(const char *name, struct idts_backend *be)
{
    int rc = idts_backend_open(be, name);

    if (rc == 0) {
        if (strcmp(name, "xen") == 0)
            printf("  xen  usable: this is domain %s of host %s; ranks in domains of that host "
                   "connect\n",
                   be->instance, be->host);
        else
            printf("  %-4s usable: ranks under this kernel connect (host %s)\n", name, be->host);
        idts_backend_close(be);
        return 1;
    }
    if (rc == -ENOENT)
        printf("  %-4s not in this build of idts (rebuild it with libxen-dev installed and "
               "configure --with-xen)\n",
               name);
    else
        printf("  %-4s not usable: %s\n", name, be->why);
    return 0;
}

/* What "auto" picks: the component's default choice. */
static const char *auto_choice(void)
{
    static char name[16];
    struct idts_backend be;

    if (idts_backend_open(&be, "auto") != 0)
        return NULL;
    snprintf(name, sizeof(name), "%s", be.ops->name);
    idts_backend_close(&be);
    return name;
}

static void mode_string(mode_t mode, char *out)
{
    const char *rwx = "rwxrwxrwx";
    int i;

    out[0] = S_ISCHR(mode) ? 'c' : S_ISDIR(mode) ? 'd' : '-';
    for (i = 0; i < 9; i++)
        out[i + 1] = mode & (1u << (8 - i)) ? rwx[i] : '-';
    out[10] = '\0';
}

/* 1 when this user may not open the device. */
static int report_access(const struct xen_device *d, const struct stat *st, const char *user)
{
    struct passwd *owner = getpwuid(st->st_uid);
    struct group *group = getgrgid(st->st_gid);
    char mode[11], who[96];
    int allowed = access(d->path, R_OK | W_OK) == 0;

    mode_string(st->st_mode, mode);
    snprintf(who, sizeof(who), "%s:%s", owner ? owner->pw_name : "?", group ? group->gr_name : "?");
    fact(d->path, "%s %s, %s for %s", mode, who, allowed ? "read/write" : "NO ACCESS", user);
    return !allowed;
}

/* 1 when the device is there but this user may not open it. */
static int report_device(const struct xen_device *d, const char *user, const char *why)
{
    struct stat st;

    if (stat(d->path, &st) == 0)
        return report_access(d, &st, user);
    if (!d->module) {
        /* libxenstore falls back on xenfs's /proc/xen/xenbus. */
        if (exists("/proc/xen/xenbus")) {
            fact(d->path, "missing; XenStore is reached through /proc/xen/xenbus");
        } else {
            fact(d->path, "missing, and no /proc/xen/xenbus: XenStore is not reachable");
            device_fix(why, d, "mount xenfs: mount -t xenfs xenfs /proc/xen");
        }
    } else if (module_loaded(d->sysfs)) {
        fact(d->path, "missing, though module %s is loaded", d->module);
        device_fix(why, d, "create %s: is devtmpfs mounted on /dev, or udev running?", d->path);
    } else {
        fact(d->path, "missing: module %s is not loaded", d->module);
        device_fix(why, d, "load the %s module: modprobe %s", d->module, d->module);
    }
    return 0;
}

#ifdef IDTS_HAVE_XEN
/* Tunnels of rings of `ring` bytes that `pages` grants hold. */
static long tunnels(long pages, long ring)
{
    return pages / (long)idts_region_pages((uint32_t)ring);
}

/* The grant budget: gntalloc's limit and what is free of it, Xen's grant
 * table for this domain, and the tunnels that fit. */
static void report_grants(const struct idts_backend *xen)
{
    struct idts_xen_grants g;
    long pages;

    idts_xen_grants((unsigned)strtoul(xen->instance, NULL, 10), &g);
    if (g.limit < 0) {
        fact("grant limit", "unknown: no %s (xen-gntalloc is not loaded)", GRANT_LIMIT);
        return;
    }
    fact("grant limit", "%ld grants for all processes of this domain (%s)", g.limit, GRANT_LIMIT);
    if (g.available >= 0)
        fact("grants free", "%ld now (%ld in use by processes of this domain)", g.available,
             g.limit - g.available);
    pages = g.limit;
    if (g.table_max >= 0) {
        fact("grant table", "%ld of %ld frames in use: Xen lets this domain grant %ld pages in all",
             g.table_frames, g.table_max, g.table_max * IDTS_XEN_GRANTS_PER_FRAME);
        fact("", "(its kernel's devices too); \"max_grant_frames = %ld\" in its xl.cfg raises it",
             2 * g.table_max);
        if (g.table_max * IDTS_XEN_GRANTS_PER_FRAME < pages)
            pages = g.table_max * IDTS_XEN_GRANTS_PER_FRAME;
    } else {
        fact("grant table", "unknown: %s", g.why);
    }
    fact("tunnels",
         "this domain's ranks can create %ld tunnels with 1 MiB rings, %ld with 256 KiB,",
         tunnels(pages, 1 << 20), tunnels(pages, 256 << 10));
    fact("", "%ld with 64 KiB, the smallest: idts sizes its rings to fit (btl_idts_budget)",
         tunnels(pages, 64 << 10));
    if (tunnels(g.limit, 64 << 10) == 0)
        add_fix("raise the grant limit: echo 16384 > %s (or \"options xen_gntalloc limit=16384\" "
                "in /etc/modprobe.d/, as the openmpi-btl-idts package sets it)",
                GRANT_LIMIT);
}
#else
static void report_grants(const struct idts_backend *xen)
{
    (void)xen;
    fact("grant limit", "not looked at: this idts was built without the xen backend");
}
#endif

/* What the kernel says it runs on, or "" when it does not say. */
static const char *hypervisor(void)
{
    static char type[32];

    read_line("/sys/hypervisor/type", type, sizeof(type));
    return type;
}

/* Whether this looks like a Xen domain at all, whatever state its drivers are in. */
static int on_xen(void)
{
    return strcmp(hypervisor(), "xen") == 0 || exists("/dev/xen") || exists("/proc/xen");
}

/* The xen backend's needs, as found here; xen is its outcome. */
static void report_xen(const struct idts_backend *xen, int usable, const char *user)
{
    const char *why = usable ? "" : xen->why;
    char denied[128] = "";
    size_t i;

    printf("\nXen, as found here:\n");
    fact("hypervisor", "%s", hypervisor()[0] ? hypervisor() : "none (no /sys/hypervisor/type)");
    if (!on_xen()) {
        fact("", "this is not a Xen domain: idts has no use for xen here");
        return;
    }
    if (!usable && xen->why[0])
        add_fix("%s", xen->why);
    fact("xenfs", "%s", xenfs_mounted() ? "mounted on /proc/xen" : "not mounted on /proc/xen");
    for (i = 0; i < sizeof(xen_devices) / sizeof(xen_devices[0]); i++) {
        const struct xen_device *d = &xen_devices[i];

        /* The backend's reason names the first device it could not open. */
        if (report_device(d, user, why) && !strstr(why, d->path))
            snprintf(denied + strlen(denied), sizeof(denied) - strlen(denied), " %s", d->path);
    }
    if (denied[0])
        add_fix("give %s read and write access to%s: %s", user, denied, UDEV_RULE_FIX);
    if (!xen->instance[0]) {
        fact("domain", "unknown (XenStore not read)");
        fact("host identity", "unknown (XenStore not read)");
    } else {
        fact("domain", "%s", xen->instance);
        fact("host identity", "%s",
             xen->host[0] ? xen->host : "none (idts-hostd in dom0 writes it)");
    }
    report_grants(xen);
}

static void verdict(const char *chosen, int xen_usable)
{
    int i;

    printf("\nidts will ");
    if (!chosen)
        printf("step aside: no backend works here, and MPI uses its other BTLs.\n");
    else if (xen_usable)
        printf("use xen: grant tables and event channels between the Xen domains of this "
               "host.\n");
    else if (!on_xen())
        printf("use %s: no Xen here. Ranks under this kernel connect through shared memory; "
               "ranks elsewhere need another BTL (e.g. --mca btl idts,self,tcp).\n",
               chosen);
    else
        printf("use %s, not xen: ranks in other domains of this host will not connect "
               "through idts.\n",
               chosen);
    if (fix_count)
        printf("\nTo fix:\n");
    for (i = 0; i < fix_count; i++)
        printf("  - %s\n", fixes[i]);
}

static void usage(int status)
{
    fprintf(status ? stderr : stdout,
            "usage: idts-info [--require auto|xen|shm]\n"
            "Say which backend idts uses on this machine, why, and what to fix.\n"
            "  --require B  exit 1 unless backend B works here (default auto: any)\n");
    exit(status);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"require", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *require = "auto", *chosen;
    struct passwd *pw = getpwuid(getuid());
    struct idts_backend xen, shm;
    char user[64];
    int c, xen_usable, shm_usable;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'r')
            require = optarg;
        else
            usage(c == 'h' ? 0 : 2);
    }
    if (optind != argc ||
        (strcmp(require, "auto") && strcmp(require, "xen") && strcmp(require, "shm")))
        usage(2);
    snprintf(user, sizeof(user), "%s", pw ? pw->pw_name : "this user");

    printf("idts %s, as user %s (uid %u)\n\nBackends, as the component opens them:\n", IDTS_VERSION,
           user, (unsigned)getuid());
    xen_usable = report_backend("xen", &xen);
    shm_usable = report_backend("shm", &shm);
    chosen = auto_choice();
    printf("auto (btl_idts_backend's default) picks: %s\n", chosen ? chosen : "none");
    report_xen(&xen, xen_usable, user);
    verdict(chosen, xen_usable);

    if (strcmp(require, "xen") == 0)
        return !xen_usable;
    if (strcmp(require, "shm") == 0)
        return !shm_usable;
    return chosen == NULL;
}
