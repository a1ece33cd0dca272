/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * How much of the ring's wrap-around space mpi_stress exercises: a model of
 * the records each of this rank's idts rings carries, replayed through the
 * real placement code of common/idts_ring.c.
 */
#ifndef MPI_STRESS_WRAPS_H
#define MPI_STRESS_WRAPS_H

#include <stddef.h>

/* Read the job's idts settings (MPI_T); the model stays off without idts. */
void wraps_init(int rank, int nprocs);
/* A message of `size` bytes this rank sends to dest. */
void wraps_sent(int dest, size_t size, int synchronous);
/* A message from source to this rank: what this rank answers on its ring. */
void wraps_received(int source, size_t size, int synchronous);
/* Collective: rank 0 prints the coverage over all ranks' rings. */
void wraps_report(void);

#endif
