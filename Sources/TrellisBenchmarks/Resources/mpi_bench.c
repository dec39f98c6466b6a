/* The MPICH side of `trellis bench compare`: the same measurements as
 * Trellis's own benchmarks, printed as the same JSON lines.
 *
 *   mpiexec.mpich -n 2 ./mpi_bench pingpong
 *   mpiexec.mpich -n 4 ./mpi_bench bcast
 *   mpiexec.mpich -n 4 ./mpi_bench allreduce
 *
 * Environment: BENCH_IMPL names the variant in the output (mpich-tcp, mpich-shm);
 * BENCH_SIZES overrides the message sizes (comma separated bytes). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *impl(void) {
    const char *name = getenv("BENCH_IMPL");
    return name ? name : "mpich";
}

static int sizes(const char *fallback, long *out, int max) {
    const char *text = getenv("BENCH_SIZES");
    char buffer[1024];
    strncpy(buffer, text ? text : fallback, sizeof buffer - 1);
    buffer[sizeof buffer - 1] = 0;
    int count = 0;
    for (char *token = strtok(buffer, ","); token && count < max; token = strtok(NULL, ",")) out[count++] = atol(token);
    return count;
}

#define TRIALS 3

/* Each size is measured TRIALS times and the median reported, as Trellis does. */
static double median(double *values) {
    for (int i = 0; i < TRIALS; i++)
        for (int j = i + 1; j < TRIALS; j++)
            if (values[j] < values[i]) { double t = values[i]; values[i] = values[j]; values[j] = t; }
    return values[TRIALS / 2];
}

static int iterations_for(long bytes, int small, int large) {
    if (bytes <= 65536) return small;
    long n = large * (1L << 20) / (bytes > 0 ? bytes : 1);
    return n < 10 ? 10 : (n > small ? small : (int)n);
}

static void pingpong(int rank, int size) {
    long list[16];
    int count = sizes("8,1048576,16777216", list, 16);
    for (int s = 0; s < count; s++) {
        long bytes = list[s];
        char *buffer = malloc(bytes > 0 ? bytes : 1);
        memset(buffer, 1, bytes);
        int iterations = iterations_for(bytes, 20000, 512);
        int warmup = iterations / 10 > 2 ? iterations / 10 : 2;
        double trials[TRIALS];
        for (int t = 0; t < TRIALS; t++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double start = 0;
            for (int i = 0; i < warmup + iterations; i++) {
                if (i == warmup) start = MPI_Wtime();
                if (rank == 0) {
                    MPI_Send(buffer, (int)bytes, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
                    MPI_Recv(buffer, (int)bytes, MPI_BYTE, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                } else if (rank == 1) {
                    MPI_Recv(buffer, (int)bytes, MPI_BYTE, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    MPI_Send(buffer, (int)bytes, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
                }
            }
            trials[t] = (MPI_Wtime() - start) / iterations / 2 * 1e6;
        }
        if (rank == 0) {
            double latency = median(trials);
            printf("{\"bench\":\"pingpong\",\"impl\":\"%s\",\"bytes\":%ld,\"ranks\":%d,\"iterations\":%d,\"latency_microseconds\":%.3f,\"bandwidth_megabytes_per_second\":%.1f}\n",
                   impl(), bytes, size, iterations, latency, bytes / latency);
            fflush(stdout);
        }
        free(buffer);
    }
}

static void collective(int rank, int size, int is_bcast) {
    long list[16];
    int count = sizes(is_bcast ? "67108864" : "8,1048576,16777216", list, 16);
    for (int s = 0; s < count; s++) {
        long bytes = list[s];
        long elements = bytes / 8;
        double *input = malloc(bytes > 0 ? bytes : 8);
        double *output = malloc(bytes > 0 ? bytes : 8);
        for (long i = 0; i < elements; i++) input[i] = rank + i;
        int iterations = iterations_for(bytes, 2000, 256);
        int warmup = iterations / 10 > 2 ? iterations / 10 : 2;
        double trials[TRIALS];
        for (int t = 0; t < TRIALS; t++) {
            double total = 0;
            for (int i = 0; i < warmup + iterations; i++) {
                MPI_Barrier(MPI_COMM_WORLD);
                double start = MPI_Wtime();
                if (is_bcast) MPI_Bcast(input, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
                else MPI_Allreduce(input, output, (int)elements, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
                if (i >= warmup) total += MPI_Wtime() - start;
            }
            double mine = total / iterations, slowest = 0;
            MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            trials[t] = slowest * 1e6;
        }
        if (rank == 0) {
            double latency = median(trials);
            printf("{\"bench\":\"%s\",\"impl\":\"%s\",\"bytes\":%ld,\"ranks\":%d,\"iterations\":%d,\"latency_microseconds\":%.3f,\"bandwidth_megabytes_per_second\":%.1f}\n",
                   is_bcast ? "bcast" : "allreduce", impl(), bytes, size, iterations, latency, bytes / latency);
            fflush(stdout);
        }
        free(input);
        free(output);
    }
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *which = argc > 1 ? argv[1] : "pingpong";
    if (strcmp(which, "pingpong") == 0) pingpong(rank, size);
    else if (strcmp(which, "bcast") == 0) collective(rank, size, 1);
    else if (strcmp(which, "allreduce") == 0) collective(rank, size, 0);
    else if (rank == 0) fprintf(stderr, "unknown benchmark %s\n", which);
    MPI_Finalize();
    return 0;
}
