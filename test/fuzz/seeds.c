/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * Writes the seed inputs of the fuzz targets into DIR/TARGET/seed-NAME
 * (make fuzz-seeds: into test/fuzz/corpus/). Each seed is a small program
 * in its target's language (fuzz_ops.h) that does what an honest peer, or a
 * typical hostile one, does: records both ways, a ring's wrap with its PAD,
 * a full ring, valid and broken control pages and offers. The fuzzer starts
 * from these, deep in the code, instead of from nothing.
 *
 * Also the inputs that showed a bug the fuzzers found, as DIR/TARGET/
 * regress-NAME: make check replays them with the rest of the corpus.
 */
#define _GNU_SOURCE
#include "fuzz_ops.h"
#include "fuzz_program.h"
#include "idts_tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>

static const char *top;

static void write_input(const char *target, const char *name, const struct fuzz_output *out)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", top, target);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s/%s", top, target, name);
    f = fopen(path, "wb");
    if (!f || fwrite(out->bytes, 1, out->len, f) != out->len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void op(struct fuzz_output *out, unsigned code)
{
    fuzz_put_u8(out, code);
}

static void peer_send(struct fuzz_output *out, uint16_t length, uint8_t tag)
{
    op(out, PEER_SEND);
    fuzz_put_u16(out, length);
    fuzz_put_u8(out, tag);
}

/* Header byte `how` of PEER_HEADER: where (0: offset 0, 1: the peer's
 * producer position, 2 + k: our consumer position + 8 k) and flags. */
static void peer_header(struct fuzz_output *out, uint8_t how, uint32_t length, uint8_t type)
{
    op(out, PEER_HEADER);
    fuzz_put_u8(out, how);
    fuzz_put_u32(out, length);
    fuzz_put_u16(out, 0);
    fuzz_put_u8(out, type);
    fuzz_put_u8(out, 0);
}

static void peer_cons(struct fuzz_output *out, uint8_t how, uint32_t value)
{
    op(out, PEER_CONS);
    fuzz_put_u8(out, how);
    fuzz_put_u32(out, value);
}

/* ring: size 4 KiB << size, at position start. */
static void ring_start(struct fuzz_output *out, uint8_t size, uint32_t start)
{
    out->len = 0;
    fuzz_put_u8(out, size);
    fuzz_put_u32(out, start);
    fuzz_put_u8(out, 0xee); /* stale bytes */
    fuzz_put_u16(out, 0);
}

static void ring_receive(struct fuzz_output *out)
{
    op(out, RING_PEEK);
    op(out, RING_RELEASE);
}

static void ring_send(struct fuzz_output *out, uint32_t length, uint8_t tag)
{
    op(out, RING_RESERVE);
    fuzz_put_u32(out, length);
    op(out, RING_COMMIT);
    fuzz_put_u16(out, (uint16_t)length);
    fuzz_put_u8(out, tag);
}

static void ring_seeds(void)
{
    static const uint16_t lengths[] = {0, 1, 7, 8, 9, 100, 1000, 2032};
    struct fuzz_output out;
    size_t i;
    int n;

    ring_start(&out, 0, 0);
    for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        peer_send(&out, lengths[i], (uint8_t)i);
        ring_receive(&out);
        ring_send(&out, lengths[i], (uint8_t)i);
        op(&out, PEER_RECEIVE);
    }
    write_input("ring", "seed-both-ways", &out);

    /* A record that does not fit before the end goes at 0 behind a PAD. */
    ring_start(&out, 0, 4096 - 16);
    peer_send(&out, 100, 1);
    ring_send(&out, 100, 1);
    op(&out, RING_EMPTY);
    ring_receive(&out);
    op(&out, PEER_RECEIVE);
    write_input("ring", "seed-pad-wrap", &out);

    /* The 32-bit positions wrap too. */
    ring_start(&out, 1, 0xffffffffu - 4096 + 1);
    for (n = 0; n < 40; n++) {
        peer_send(&out, 300, 2);
        ring_receive(&out);
        ring_send(&out, 300, 2);
        op(&out, PEER_RECEIVE);
    }
    write_input("ring", "seed-counter-wrap", &out);

    /* Fill both rings, then drain them; ask to be woken on the way. */
    ring_start(&out, 0, 0);
    for (n = 0; n < 35; n++) {
        peer_send(&out, 120, 3);
        ring_send(&out, 120, 3);
    }
    op(&out, RING_WRITABLE);
    fuzz_put_u32(&out, 120);
    for (n = 0; n < 4; n++) {
        op(&out, RING_WAKE);
        fuzz_put_u8(&out, (uint8_t)n);
    }
    for (n = 0; n < 35; n++) {
        ring_receive(&out);
        op(&out, PEER_RECEIVE);
    }
    write_input("ring", "seed-full", &out);

    /* What a hostile peer writes: a PAD over the whole ring, a length past
     * the maximum, a PAD to the end leading to another, cons ahead. */
    ring_start(&out, 0, 0);
    peer_header(&out, 0x40 | 2, 4096 - 8, 1);
    op(&out, RING_PEEK);
    write_input("ring", "seed-pad-at-zero", &out);
    ring_start(&out, 0, 0);
    peer_header(&out, 0x60 | 2, 4096, 0);
    op(&out, RING_PEEK);
    write_input("ring", "seed-too-long", &out);
    ring_start(&out, 0, 4096 - 64);
    peer_header(&out, 0x70 | 2, 0, 1);
    peer_header(&out, 0x40 | 0, 4096 - 8, 1);
    op(&out, RING_PEEK);
    write_input("ring", "seed-pad-to-pad", &out);
    ring_start(&out, 0, 0);
    ring_send(&out, 500, 4);
    peer_cons(&out, 1, 8);
    op(&out, RING_RESERVE);
    fuzz_put_u32(&out, 3000);
    write_input("ring", "seed-cons-ahead", &out);
}

/* tunnel as the creator with rings of 4 KiB << size; the attacher comes. */
static void tunnel_creator(struct fuzz_output *out, uint8_t size, uint8_t attacher_live)
{
    out->len = 0;
    fuzz_put_u8(out, (uint8_t)(size << 1));
    fuzz_put_u8(out, 1); /* two connects */
    fuzz_put_u8(out, ANSWER_NOT_YET);
    fuzz_put_u8(out, IDTS_END_WAITING);
    fuzz_put_u8(out, ANSWER_OK);
    fuzz_put_u8(out, attacher_live);
}

/* tunnel as the attacher of an honest creator's region, but for `pokes`
 * (offset, byte) into its control page. */
static void tunnel_attacher(struct fuzz_output *out, uint8_t size, unsigned pokes,
                            const uint16_t *offset, const uint8_t *byte)
{
    unsigned i;

    out->len = 0;
    fuzz_put_u8(out, (uint8_t)(size << 1 | 1));
    fuzz_put_u8(out, ANSWER_OK);
    fuzz_put_u8(out, 0xee); /* stale bytes */
    fuzz_put_u8(out, 0);    /* data size as the rings need */
    fuzz_put_u8(out, (uint8_t)pokes);
    for (i = 0; i < pokes; i++) {
        fuzz_put_u16(out, offset[i]);
        fuzz_put_u8(out, 1);
        fuzz_put_u8(out, byte[i]);
    }
    fuzz_put_u8(out, 0); /* the creator put end markers */
}

static void tunnel_exchange(struct fuzz_output *out, uint16_t length)
{
    peer_send(out, length, 7);
    op(out, TUNNEL_WAIT);
    fuzz_put_u8(out, IDTS_WAIT_RECV | IDTS_WAIT_SEND);
    fuzz_put_u16(out, length);
    fuzz_put_u8(out, 0);
    fuzz_put_u8(out, ANSWER_OK);
    op(out, TUNNEL_PEEK);
    op(out, TUNNEL_RELEASE);
    op(out, TUNNEL_SEND);
    fuzz_put_u16(out, length);
    fuzz_put_u8(out, 7);
    op(out, PEER_RECEIVE);
}

static void tunnel_seeds(void)
{
    static const uint16_t magic_at[] = {0}, version_at[] = {4}, size_at[] = {9}, live_at[] = {64},
                          cons_at[] = {192 + 64};
    static const uint8_t zero[] = {0}, flip[] = {0x99}, seventeen[] = {17};
    struct fuzz_output out;
    int n;

    tunnel_creator(&out, 0, IDTS_END_LIVE);
    for (n = 0; n < 30; n++)
        tunnel_exchange(&out, (uint16_t)(n * 67 % 2033));
    write_input("tunnel", "seed-creator", &out);

    tunnel_attacher(&out, 1, 0, NULL, NULL);
    for (n = 0; n < 30; n++)
        tunnel_exchange(&out, (uint16_t)(n * 131 % 4081));
    op(&out, TUNNEL_IDLE);
    write_input("tunnel", "seed-attacher", &out);

    /* The peer leaves records and goes: they are delivered, then -EPIPE. */
    tunnel_creator(&out, 0, IDTS_END_LIVE);
    peer_send(&out, 40, 1);
    peer_send(&out, 50, 2);
    op(&out, TUNNEL_PEER_LIVE);
    fuzz_put_u8(&out, IDTS_END_GONE);
    for (n = 0; n < 3; n++) {
        op(&out, TUNNEL_PEEK);
        op(&out, TUNNEL_RELEASE);
    }
    op(&out, TUNNEL_RESERVE);
    fuzz_put_u32(&out, 4000);
    write_input("tunnel", "seed-peer-gone", &out);

    tunnel_attacher(&out, 0, 1, magic_at, flip);
    write_input("tunnel", "seed-bad-magic", &out);
    tunnel_attacher(&out, 0, 1, version_at, flip);
    write_input("tunnel", "seed-bad-version", &out);
    tunnel_attacher(&out, 0, 1, size_at, seventeen);
    write_input("tunnel", "seed-bad-ring-size", &out);
    tunnel_attacher(&out, 0, 1, live_at, zero);
    write_input("tunnel", "seed-creator-gone", &out);
    tunnel_attacher(&out, 0, 1, cons_at, seventeen);
    write_input("tunnel", "seed-early-cons", &out);
}

/* MCA_BTL_IDTS_TAG_GET_REQUEST (btl_idts.h, which needs Open MPI's headers). */
#define TAG_GET_REQUEST 0x20

/* btl: our role, connected by knock or not, rings of 4 KiB << size. */
static void btl_start(struct fuzz_output *out, int creator, int knocked, uint8_t size)
{
    out->len = 0;
    fuzz_put_u8(out, (uint8_t)(size << 2 | (knocked ? 2 : 0) | (creator ? 1 : 0)));
    fuzz_put_u16(out, 1000); /* rendezvous records of 1001 bytes */
}

static void btl_register(struct fuzz_output *out, uint16_t size, uint8_t whose)
{
    op(out, BTL_REGISTER);
    fuzz_put_u16(out, size);
    fuzz_put_u8(out, whose);
}

/* The peer asks for registration `reg`, shifted by `shift` bytes. */
static void btl_get_request(struct fuzz_output *out, uint8_t reg, int16_t shift)
{
    op(out, BTL_GET_REQUEST);
    fuzz_put_u8(out, 0);
    fuzz_put_u32(out, 0);
    fuzz_put_u8(out, reg);
    fuzz_put_u64(out, 0);
    fuzz_put_u64(out, (uint64_t)(int64_t)shift);
    fuzz_put_u64(out, 0);
}

static void btl_drain(struct fuzz_output *out, int records)
{
    int i;

    for (i = 0; i < records; i++) {
        op(out, BTL_PROGRESS);
        op(out, PEER_RECEIVE);
    }
}

static void btl_seeds(void)
{
    struct fuzz_output out;
    unsigned i;

    btl_start(&out, 1, 0, 1);
    for (i = 0; i < 20; i++) {
        peer_send(&out, (uint16_t)(i * 97), (uint8_t)(0x40 + i % 20));
        op(&out, BTL_PROGRESS);
    }
    write_input("btl", "seed-eager", &out);

    btl_start(&out, 0, 1, 0);
    peer_send(&out, 64, 0x41);
    op(&out, BTL_PROGRESS);
    op(&out, BTL_KNOCK);
    fuzz_put_u8(&out, 0);
    op(&out, BTL_KNOCK);
    fuzz_put_u8(&out, 1);
    fuzz_put_u32(&out, 7);
    fuzz_put_u32(&out, 7);
    op(&out, BTL_KNOCK);
    fuzz_put_u8(&out, 6);
    fuzz_put_u32(&out, 0);
    fuzz_put_u8(&out, 13);
    write_input("btl", "seed-knocks", &out);

    /* The peer reads memory registered for it, in rendezvous records, then
     * we are done with it. */
    btl_start(&out, 1, 0, 2);
    btl_register(&out, 5000, 0);
    btl_register(&out, 100, 1);
    btl_get_request(&out, 0, 0);
    btl_get_request(&out, 1, 0);
    btl_drain(&out, 12);
    op(&out, BTL_DEREGISTER);
    fuzz_put_u8(&out, 0);
    btl_drain(&out, 2);
    write_input("btl", "seed-serve", &out);

    /* The peer asks for one region, again and again, and reads nothing:
     * past the bound of requests waiting, the tunnel ends. */
    btl_start(&out, 1, 0, 0);
    btl_register(&out, 5000, 0);
    for (i = 0; i < 80; i++) {
        btl_get_request(&out, 0, 0);
        op(&out, BTL_PROGRESS);
    }
    write_input("btl", "seed-get-flood", &out);

    /* We read the peer's memory: it answers in three records. */
    btl_start(&out, 0, 0, 1);
    op(&out, BTL_GET);
    fuzz_put_u64(&out, 3);
    fuzz_put_u64(&out, 0x10000);
    fuzz_put_u16(&out, 3000);
    btl_drain(&out, 1);
    for (i = 0; i < 3; i++) {
        op(&out, BTL_GET_DATA);
        fuzz_put_u8(&out, 0);
        fuzz_put_u8(&out, 0);
        fuzz_put_u32(&out, 0);
        fuzz_put_u16(&out, 1000);
        fuzz_put_u32(&out, 0);
        fuzz_put_u32(&out, 0);
        op(&out, BTL_PROGRESS);
    }
    write_input("btl", "seed-get", &out);

    /* The peer asks for memory registered for another peer, and for more
     * than its own: each is refused, with no memory to copy from. */
    btl_start(&out, 1, 0, 0);
    btl_register(&out, 100, 2);
    btl_register(&out, 100, 0);
    btl_get_request(&out, 0, 0);
    btl_get_request(&out, 1, 1);
    btl_drain(&out, 3);
    write_input("btl", "regress-refused-request", &out);

    /* Tag 255 has no entry in Open MPI's table of callbacks. */
    btl_start(&out, 1, 0, 0);
    peer_send(&out, 8, 255);
    op(&out, BTL_PROGRESS);
    write_input("btl", "regress-tag-255", &out);

    /* A GET_REQUEST too short closes the endpoint; then we make a get. */
    btl_start(&out, 1, 0, 0);
    peer_send(&out, 8, TAG_GET_REQUEST);
    op(&out, BTL_PROGRESS);
    op(&out, BTL_GET);
    fuzz_put_u64(&out, 1);
    fuzz_put_u64(&out, 0x10000);
    fuzz_put_u16(&out, 100);
    write_input("btl", "regress-get-on-closed-endpoint", &out);

    /* The peer asks for 5000 bytes; with three records in the ring our
     * side is done with the memory and frees it; the ring drains. */
    btl_start(&out, 1, 0, 0);
    btl_register(&out, 5000, 0);
    btl_get_request(&out, 0, 0);
    op(&out, BTL_PROGRESS);
    op(&out, BTL_DEREGISTER);
    fuzz_put_u8(&out, 0);
    btl_drain(&out, 8);
    write_input("btl", "regress-deregistered-while-served", &out);
}

/* shm_offer: an honest creator's message for data_size 4 KiB << size. */
static void offer_message(struct fuzz_output *out, uint8_t size, int magic_right)
{
    out->len = 0;
    fuzz_put_u8(out, 0);
    fuzz_put_u8(out, size);
    fuzz_put_u8(out, (uint8_t)magic_right);
}

static void offer_memfd(struct fuzz_output *out, uint8_t seals)
{
    fuzz_put_u8(out, FD_MEMFD);
    fuzz_put_u8(out, seals);
    fuzz_put_u8(out, 0); /* as large as offered */
}

static void offer_fds(struct fuzz_output *out, unsigned n, uint8_t memfd_seals)
{
    unsigned i;

    fuzz_put_u8(out, (uint8_t)n);
    offer_memfd(out, memfd_seals);
    for (i = 1; i < n; i++)
        fuzz_put_u8(out, FD_EVENTFD);
}

static void shm_offer_seeds(void)
{
    const uint8_t honest = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
    struct fuzz_output out;

    offer_message(&out, 1, 1);
    offer_fds(&out, 3, honest);
    write_input("shm_offer", "seed-honest", &out);
    offer_message(&out, 1, 1);
    offer_fds(&out, 4, honest);
    write_input("shm_offer", "seed-four-fds", &out);
    offer_message(&out, 1, 1);
    offer_fds(&out, 3, F_SEAL_GROW);
    write_input("shm_offer", "seed-can-shrink", &out);
    offer_message(&out, 1, 1);
    offer_fds(&out, 3, honest | F_SEAL_WRITE);
    write_input("shm_offer", "seed-write-sealed", &out);
    offer_message(&out, 1, 0);
    offer_fds(&out, 3, honest);
    write_input("shm_offer", "seed-bad-magic", &out);
    out.len = 0;
    fuzz_put_u8(&out, 1); /* hang up */
    write_input("shm_offer", "seed-hang-up", &out);
    out.len = 0;
    fuzz_put_u8(&out, 2);
    fuzz_put_u8(&out, 5);
    fuzz_put(&out, "ISHM\0", 5);
    fuzz_put_u8(&out, 1);
    fuzz_put_u8(&out, FD_PIPE);
    write_input("shm_offer", "seed-short", &out);
}

static void xen_input(const char *name, uint8_t parser, const void *args, size_t args_len,
                      const char *value)
{
    struct fuzz_output out = {.len = 0};

    fuzz_put_u8(&out, parser);
    fuzz_put(&out, args, args_len);
    fuzz_put(&out, value, strlen(value));
    write_input("xen_parse", name, &out);
}

static void xen_parse_seeds(void)
{
    static const uint8_t max_domid[] = {0xef, 0x7f, 0, 0}, max_pages[] = {0x70, 0x03},
                         len16[] = {16};
    static const char inbox[] = "in-1234abcd-5";
    char inbox_arg[sizeof(inbox) + 1];

    inbox_arg[0] = (char)strlen(inbox);
    memcpy(inbox_arg + 1, inbox, strlen(inbox));

    xen_input("seed-uint", XEN_UINT, max_domid, sizeof(max_domid), "32751");
    xen_input("seed-offer", XEN_OFFER, max_pages, sizeof(max_pages), "4242 123 45 64");
    xen_input("seed-knock", XEN_KNOCK, len16, sizeof(len16), "4242 43434e4b01000000");
    xen_input("seed-knock-path", XEN_KNOCK_PATH, inbox_arg, strlen(inbox) + 1,
              "/local/domain/7/data/idts/1f/in-1234abcd-5@knock-4242-0");
    xen_input("seed-knock-bytes", XEN_KNOCK_BYTES, "\x0c", 1, "CONKjobivpid");

    /* Taken before offers were read field by field. */
    xen_input("regress-offer-leading-space", XEN_OFFER, max_pages, sizeof(max_pages),
              " 42 12 45 64");
    xen_input("regress-offer-negative-ref", XEN_OFFER, max_pages, sizeof(max_pages),
              "42 -12 45 64");
    xen_input("regress-offer-wrapping-pages", XEN_OFFER, max_pages, sizeof(max_pages),
              "1 2 3 4294967297");
    xen_input("regress-knock-path-sign", XEN_KNOCK_PATH, inbox_arg, strlen(inbox) + 1,
              "/local/domain/-7/data/idts/1f/in-1234abcd-5@knock-4242-0");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
        return 2;
    }
    top = argv[1];
    if (mkdir(top, 0777) != 0 && errno != EEXIST) {
        perror(top);
        return 1;
    }
    ring_seeds();
    tunnel_seeds();
    shm_offer_seeds();
    xen_parse_seeds();
    btl_seeds();
    return 0;
}
