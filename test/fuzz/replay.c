/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2026, the idts authors */
/*
 * A fuzz target without libFuzzer: runs the target once on each input file,
 * so that every build (gcc, the sanitizers, valgrind) runs the harnesses on
 * the committed corpus in `make check`, and an input `make fuzz` kept can be
 * replayed in a debugger. With no argument it replays
 * $top_srcdir/test/fuzz/corpus/FUZZ_TARGET. Prints one TAP line per target;
 * a failed invariant or a sanitizer's report ends the program instead.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Exactly the file's bytes on the heap: ASan sees a read past the input. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    uint8_t *data;
    int ok;

    if (!f || fstat(fileno(f), &st) != 0) {
        perror(path);
        if (f)
            fclose(f);
        return 0;
    }
    data = malloc(st.st_size ? (size_t)st.st_size : 1);
    ok = data && fread(data, 1, (size_t)st.st_size, f) == (size_t)st.st_size;
    fclose(f);
    if (ok) {
        printf("# %s\n", path);
        fflush(stdout);
        LLVMFuzzerTestOneInput(data, (size_t)st.st_size);
    } else {
        fprintf(stderr, "%s: cannot read\n", path);
    }
    free(data);
    return ok;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every file of a directory, in name order; returns the count, -1 on error. */
static int replay_dir(const char *dir)
{
    struct dirent **names;
    char *path;
    int n = scandir(dir, &names, NULL, by_name), i, count = 0;

    if (n < 0) {
        perror(dir);
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.' && count >= 0) {
            if (asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0)
                return -1;
            count = replay_file(path) ? count + 1 : -1;
            free(path);
        }
        free(names[i]);
    }
    free(names);
    return count;
}

static int replay(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    return S_ISDIR(st.st_mode) ? replay_dir(path) : replay_file(path) ? 1 : -1;
}

int main(int argc, char **argv)
{
    const char *top = getenv("top_srcdir");
    char corpus[4096];
    int paths = argc > 1 ? argc - 1 : 1, i, n = 0, total = 0, ok;

    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    snprintf(corpus, sizeof(corpus), "%s/test/fuzz/corpus/%s", top ? top : ".", FUZZ_TARGET);
    for (i = 0; i < paths && n >= 0; i++) {
        n = replay(argc > 1 ? argv[i + 1] : corpus);
        total += n > 0 ? n : 0;
    }
    ok = n >= 0 && total > 0;
    printf("%s 1 - fuzz target %s: %d inputs run clean\n1..1\n", ok ? "ok" : "not ok", FUZZ_TARGET,
           total);
    return ok ? 0 : 1;
}
