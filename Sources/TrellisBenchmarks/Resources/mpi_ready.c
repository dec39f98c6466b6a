/* The trivial program of `trellis bench launch`: each rank prints the wall
 * clock (CLOCK_REALTIME, one clock for every namespace host of the machine)
 * right after MPI_Init, so the launch time to "every rank initialized" is the
 * latest of them minus the launcher's start. */
#include <mpi.h>
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    printf("ready %d %lld\n", rank, (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
    fflush(stdout);
    MPI_Finalize();
    return 0;
}
