/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * An all-to-all of BLOCK bytes per pair, ROUNDS times, every byte checked:
 * the shape that gives every pair of ranks a tunnel (test/mpi/mpi-budget.sh
 * measures the shared memory that takes).
 *
 *   mpi_alltoall_test [BLOCK [ROUNDS [pair]]]     (16384 and 20 by default)
 *
 * With "pair" only ranks 0 and 1 exchange (the others wait): one pair of a
 * job streams while the others stay idle.
 *
 * Rank 0 prints one TAP line with the number of ranks that found a wrong byte.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t byte_at(size_t i, int from, int to, int round)
{
    return (uint8_t)(i * 131 + (size_t)from * 7 + (size_t)to * 13 + (size_t)round * 29);
}

int main(int argc, char **argv)
{
    int rank, nprocs, round, rounds, peer, pair, wrong = 0, failures = 0;
    size_t block, i;
    uint8_t *out, *in;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    block = argc > 1 ? strtoul(argv[1], NULL, 0) : 16384;
    rounds = argc > 2 ? atoi(argv[2]) : 20;
    pair = argc > 3 && strcmp(argv[3], "pair") == 0;
    out = malloc(block * (size_t)nprocs);
    in = malloc(block * (size_t)nprocs);
    if (!out || !in)
        MPI_Abort(MPI_COMM_WORLD, 2);
    for (round = 0; round < rounds; round++) {
        for (peer = 0; peer < nprocs; peer++)
            for (i = 0; i < block; i++)
                out[(size_t)peer * block + i] = byte_at(i, rank, peer, round);
        if (!pair)
            MPI_Alltoall(out, (int)block, MPI_BYTE, in, (int)block, MPI_BYTE, MPI_COMM_WORLD);
        else if (rank < 2)
            MPI_Sendrecv(out + (size_t)!rank * block, (int)block, MPI_BYTE, !rank, 0,
                         in + (size_t)!rank * block, (int)block, MPI_BYTE, !rank, 0, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE);
        for (peer = 0; peer < nprocs; peer++) {
            if (pair && (rank > 1 || peer != !rank))
                continue;
            for (i = 0; i < block; i++)
                wrong += in[(size_t)peer * block + i] != byte_at(i, peer, rank, round);
        }
    }
    wrong = wrong != 0;
    MPI_Reduce(&wrong, &failures, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("%s 1 - %s of %zu bytes per pair, %d rounds, every byte intact (%d ranks, "
               "%d failed)\n1..1\n",
               failures ? "not ok" : "ok",
               pair ? "an exchange between ranks 0 and 1" : "all-to-all", block, rounds, nprocs,
               failures);
    free(out);
    free(in);
    MPI_Finalize();
    return failures != 0;
}
