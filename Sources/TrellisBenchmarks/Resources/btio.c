/*
 * The NAS BT-IO access pattern through MPICH's MPI-IO (ROMIO), the
 * baseline of `trellis bench btio`: a GRID x GRID x GRID cube of 40-byte
 * points block-distributed over a 3-D process grid, appended to FILE at
 * each of STEPS output steps by one MPI_File_write_all through a subarray
 * view, then read back the same way and checked byte by byte. The bytes
 * and the decomposition are those of Trellis's own BT-IO worker. Rank 0
 * prints "btio WRITE_SECONDS READ_SECONDS"; a wrong byte exits non-zero.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define POINT 40

static unsigned char value(int step, long long point, int byte) { return (unsigned char)((point * 40 + byte + step * 7) & 0xff); }

static void grid_of(int ranks, int dims[3]) {
    int factors[64], count = 0, left = ranks;
    for (int divisor = 2; left > 1; divisor++)
        while (left % divisor == 0) { factors[count++] = divisor; left /= divisor; }
    dims[0] = dims[1] = dims[2] = 1;
    for (int f = count - 1; f >= 0; f--) {
        int smallest = 0;
        for (int d = 1; d < 3; d++) if (dims[d] < dims[smallest]) smallest = d;
        dims[smallest] *= factors[f];
    }
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            if (dims[b] > dims[a]) { int t = dims[a]; dims[a] = dims[b]; dims[b] = t; }
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 4) { if (rank == 0) fprintf(stderr, "usage: btio FILE GRID STEPS\n"); MPI_Abort(MPI_COMM_WORLD, 2); }
    int grid = atoi(argv[2]), steps = atoi(argv[3]);
    int dims[3], coords[3], sizes[3] = {grid, grid, grid}, subsizes[3], starts[3];
    grid_of(size, dims);
    coords[0] = rank / (dims[1] * dims[2]);
    coords[1] = (rank / dims[2]) % dims[1];
    coords[2] = rank % dims[2];
    for (int d = 0; d < 3; d++) {
        int share = grid / dims[d], extra = grid % dims[d];
        subsizes[d] = share + (coords[d] < extra ? 1 : 0);
        starts[d] = coords[d] * share + (coords[d] < extra ? coords[d] : extra);
    }
    MPI_Datatype point, filetype;
    MPI_Type_contiguous(POINT, MPI_BYTE, &point);
    MPI_Type_commit(&point);
    MPI_Type_create_subarray(3, sizes, subsizes, starts, MPI_ORDER_C, point, &filetype);
    MPI_Type_commit(&filetype);
    long long count = (long long)subsizes[0] * subsizes[1] * subsizes[2];
    long long cube = (long long)grid * grid * grid * POINT;
    unsigned char *solution = malloc(count * POINT * steps), *back = malloc(count * POINT);
    for (int step = 0; step < steps; step++) {
        long long n = 0;
        for (int i = 0; i < subsizes[0]; i++)
            for (int j = 0; j < subsizes[1]; j++)
                for (int k = 0; k < subsizes[2]; k++, n++) {
                    long long p = ((long long)(starts[0] + i) * grid + starts[1] + j) * grid + starts[2] + k;
                    for (int b = 0; b < POINT; b++) solution[(step * count + n) * POINT + b] = value(step, p, b);
                }
    }
    MPI_File file;
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    if (MPI_File_open(MPI_COMM_WORLD, argv[1], MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &file) != MPI_SUCCESS) {
        fprintf(stderr, "rank %d cannot open %s\n", rank, argv[1]);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (int step = 0; step < steps; step++) {
        MPI_File_set_view(file, step * cube, point, filetype, "native", MPI_INFO_NULL);
        MPI_File_write_all(file, solution + step * count * POINT, (int)count, point, MPI_STATUS_IGNORE);
    }
    MPI_File_sync(file);
    MPI_File_close(&file);
    MPI_Barrier(MPI_COMM_WORLD);
    double write = MPI_Wtime() - start;
    int wrong = 0;
    start = MPI_Wtime();
    MPI_File_open(MPI_COMM_WORLD, argv[1], MPI_MODE_RDONLY, MPI_INFO_NULL, &file);
    for (int step = 0; step < steps && !wrong; step++) {
        MPI_File_set_view(file, step * cube, point, filetype, "native", MPI_INFO_NULL);
        MPI_File_read_all(file, back, (int)count, point, MPI_STATUS_IGNORE);
        for (long long b = 0; b < count * POINT; b++)
            if (back[b] != solution[step * count * POINT + b]) { fprintf(stderr, "rank %d: step %d byte %lld wrong\n", rank, step, b); wrong = 1; break; }
    }
    MPI_File_close(&file);
    MPI_Barrier(MPI_COMM_WORLD);
    double read = MPI_Wtime() - start;
    double times[2] = {write, read}, slowest[2];
    int anyWrong;
    MPI_Reduce(times, slowest, 2, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Allreduce(&wrong, &anyWrong, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0 && !anyWrong) printf("btio %f %f\n", slowest[0], slowest[1]);
    free(solution);
    free(back);
    MPI_Finalize();
    return anyWrong;
}
