/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * A fuzz input read as a little program: a harness takes opcodes and their
 * arguments from the front of the input. Past its end every value reads as
 * zero and fuzz_more() turns false, so any input is a valid program and a
 * short input a short one. test/fuzz/seeds.c writes such programs with the
 * fuzz_put_*() side.
 */
#ifndef IDTS_FUZZ_PROGRAM_H
#define IDTS_FUZZ_PROGRAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fuzz_input {
    const uint8_t *at;
    size_t left;
};

static inline int fuzz_more(const struct fuzz_input *in)
{
    return in->left > 0;
}

/* Up to n bytes into out, zeros for what the input lacks; returns how many
 * came from the input. */
static inline size_t fuzz_bytes(struct fuzz_input *in, void *out, size_t n)
{
    size_t got = n < in->left ? n : in->left;

    memcpy(out, in->at, got);
    memset((uint8_t *)out + got, 0, n - got);
    in->at += got;
    in->left -= got;
    return got;
}

/* Little-endian, like the ABI. */
static inline uint64_t fuzz_uint(struct fuzz_input *in, size_t n)
{
    uint8_t b[8];
    uint64_t v = 0;
    size_t i;

    fuzz_bytes(in, b, n);
    for (i = n; i-- > 0;)
        v = v << 8 | b[i];
    return v;
}

static inline uint8_t fuzz_u8(struct fuzz_input *in)
{
    return (uint8_t)fuzz_uint(in, 1);
}

static inline uint16_t fuzz_u16(struct fuzz_input *in)
{
    return (uint16_t)fuzz_uint(in, 2);
}

static inline uint32_t fuzz_u32(struct fuzz_input *in)
{
    return (uint32_t)fuzz_uint(in, 4);
}

static inline uint64_t fuzz_u64(struct fuzz_input *in)
{
    return fuzz_uint(in, 8);
}

/* An invariant of the code under test: libFuzzer reports the abort as a
 * crash and keeps the input. */
#define fuzz_check(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The writing side, for seeds. */
struct fuzz_output {
    uint8_t bytes[4096];
    size_t len;
};

static inline void fuzz_put(struct fuzz_output *out, const void *bytes, size_t n)
{
    if (n > sizeof(out->bytes) - out->len) {
        fprintf(stderr, "seed longer than %zu bytes\n", sizeof(out->bytes));
        exit(1);
    }
    memcpy(out->bytes + out->len, bytes, n);
    out->len += n;
}

static inline void fuzz_put_uint(struct fuzz_output *out, uint64_t v, size_t n)
{
    uint8_t b[8];
    size_t i;

    for (i = 0; i < n; i++, v >>= 8)
        b[i] = (uint8_t)v;
    fuzz_put(out, b, n);
}

#define fuzz_put_u8(out, v)  fuzz_put_uint(out, v, 1)
#define fuzz_put_u16(out, v) fuzz_put_uint(out, v, 2)
#define fuzz_put_u32(out, v) fuzz_put_uint(out, v, 4)
#define fuzz_put_u64(out, v) fuzz_put_uint(out, v, 8)

#endif
