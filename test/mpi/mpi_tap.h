/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * TAP output for the MPI test programs: a check every rank makes is one
 * line, printed by rank 0, which passes only where it passed on every rank.
 */
#ifndef IDTS_MPI_TAP_H
#define IDTS_MPI_TAP_H

#include "../lib/tap.h"

#include <mpi.h>

static void tap_ok_all(MPI_Comm comm, int passed, const char *what)
{
    int failures = 0, mine = !passed, rank, size;

    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    MPI_Reduce(&mine, &failures, 1, MPI_INT, MPI_SUM, 0, comm);
    if (rank == 0)
        tap_ok(!failures, "%s (%d ranks, %d failed)", what, size, failures);
}

#define ok_all(passed, what) tap_ok_all(MPI_COMM_WORLD, passed, what)

#endif
