/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * What the xen backend reads from XenStore that other domains wrote: offers,
 * knocks, the paths of watch events, numbers. Each is a string its writer
 * chose. Apart from the backend, and from Xen's headers, so that it is
 * fuzzed where there is no Xen (test/fuzz/fuzz_xen_parse.c).
 */
#ifndef IDTS_XEN_PARSE_H
#define IDTS_XEN_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* A decimal number with nothing around it, at most max; 0 or -EINVAL. */
int idts_xen_parse_uint(const char *s, unsigned max, unsigned *out);

/* An offer node's value, "pid ctrl-ref port pages": decimal numbers one
 * space apart, a pid up to INT32_MAX, 32-bit grant reference and port, 1 to
 * max_pages pages. 0, or -EPROTO. */
int idts_xen_parse_offer(const char *value, uint32_t max_pages, uint32_t *ctrl_ref, unsigned *port,
                         uint32_t *pages);

/* A knock node's value, "pid hex-bytes", is written with to_hex (2 * len + 1
 * bytes at out) and read with parse_knock: the message's length with its
 * bytes in msg, -EMSGSIZE if longer than len, -EPROTO if not a knock. */
void idts_xen_to_hex(const uint8_t *bytes, size_t len, char *out);
int idts_xen_parse_knock(const char *value, uint8_t *msg, size_t len);

/* xenstored refuses an unprivileged domain a node whose record (value,
 * rights, and the names of its children) reaches 2048 bytes, so one
 * directory holds a few dozen of our node names at most, while a guest of a
 * full node has hundreds (a few per tunnel). Our nodes are spread over
 * IDTS_XEN_BUCKETS directories by a hash of their name:
 * /local/domain/<domid>/data/idts/<bucket, 2 hex digits>/<name>. The
 * directories stay for the domain's life: removing one could take a node
 * another process has just written in it. */
#define IDTS_XEN_BUCKETS 32u

/* The path of node `name` of domain domid into path (len bytes). */
void idts_xen_node_path(char *path, size_t len, unsigned domid, const char *name);

/* Nonzero if a watch event's path names a knock node addressed to inbox:
 * /local/domain/<domid>/data/idts/<bucket>/<inbox>@knock-... */
int idts_xen_knock_for(const char *path, const char *inbox);

#endif
