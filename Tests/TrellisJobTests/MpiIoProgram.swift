/// An MPI-IO program for MPICH's mpicc: every rank writes its blocks of
/// one shared file (block b belongs to rank b mod size) with collective
/// and then independent writes, all ranks read back the blocks of the next
/// rank, and rank 0 checks the whole file. It prints "mpi-io ok BYTES" from
/// rank 0 when every check passed, and exits non-zero otherwise.
enum MpiIoProgram {
    static let source = #"""
        #include <mpi.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        #define BLOCK (256 * 1024 + 17)
        #define ROUNDS 6

        static unsigned char expected(long long offset) { return (unsigned char)((offset * 131 + offset / BLOCK) & 0xff); }

        static void fill(unsigned char *buffer, long long offset, int count) {
            for (int i = 0; i < count; i++) buffer[i] = expected(offset + i);
        }

        static int check(const unsigned char *buffer, long long offset, int count, int rank) {
            for (int i = 0; i < count; i++) {
                if (buffer[i] != expected(offset + i)) {
                    fprintf(stderr, "rank %d: byte %lld is %d, expected %d\n", rank, offset + i, buffer[i], expected(offset + i));
                    return 1;
                }
            }
            return 0;
        }

        int main(int argc, char **argv) {
            MPI_Init(&argc, &argv);
            int rank, size, failed = 0;
            MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            MPI_Comm_size(MPI_COMM_WORLD, &size);
            if (argc < 2) { if (rank == 0) fprintf(stderr, "usage: mpi-io FILE\n"); MPI_Abort(MPI_COMM_WORLD, 2); }
            MPI_File file;
            int error = MPI_File_open(MPI_COMM_WORLD, argv[1], MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &file);
            if (error != MPI_SUCCESS) {
                char message[MPI_MAX_ERROR_STRING]; int length;
                MPI_Error_string(error, message, &length);
                fprintf(stderr, "rank %d: MPI_File_open %s: %s\n", rank, argv[1], message);
                MPI_Abort(MPI_COMM_WORLD, 3);
            }
            unsigned char *buffer = malloc(BLOCK);
            MPI_Status status;
            /* Half the rounds collectively, half independently. */
            for (int round = 0; round < ROUNDS; round++) {
                long long offset = (long long)(round * size + rank) * BLOCK;
                fill(buffer, offset, BLOCK);
                if (round % 2 == 0) {
                    error = MPI_File_write_at_all(file, offset, buffer, BLOCK, MPI_BYTE, &status);
                } else {
                    error = MPI_File_write_at(file, offset, buffer, BLOCK, MPI_BYTE, &status);
                }
                if (error != MPI_SUCCESS) { fprintf(stderr, "rank %d: write of round %d failed\n", rank, round); failed = 1; }
            }
            MPI_File_sync(file);
            MPI_Barrier(MPI_COMM_WORLD);
            MPI_File_sync(file);
            int neighbour = (rank + 1) % size;
            for (int round = 0; round < ROUNDS; round++) {
                long long offset = (long long)(round * size + neighbour) * BLOCK;
                memset(buffer, 0, BLOCK);
                error = MPI_File_read_at_all(file, offset, buffer, BLOCK, MPI_BYTE, &status);
                int count = 0;
                MPI_Get_count(&status, MPI_BYTE, &count);
                if (error != MPI_SUCCESS || count != BLOCK) { fprintf(stderr, "rank %d: read of round %d gave %d bytes\n", rank, round, count); failed = 1; }
                failed |= check(buffer, offset, BLOCK, rank);
            }
            MPI_Offset fileSize = 0;
            MPI_File_get_size(file, &fileSize);
            if (fileSize != (MPI_Offset)ROUNDS * size * BLOCK) { fprintf(stderr, "rank %d: size %lld\n", rank, (long long)fileSize); failed = 1; }
            MPI_File_close(&file);
            if (rank == 0) {
                FILE *whole = fopen(argv[1], "rb");
                for (long long offset = 0; whole && offset < fileSize; offset += BLOCK) {
                    size_t got = fread(buffer, 1, BLOCK, whole);
                    if (got != BLOCK) { fprintf(stderr, "short read at %lld\n", offset); failed = 1; break; }
                    failed |= check(buffer, offset, BLOCK, rank);
                }
                if (whole) fclose(whole); else failed = 1;
            }
            int anyFailed = 0;
            MPI_Allreduce(&failed, &anyFailed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
            if (rank == 0 && !anyFailed) printf("mpi-io ok %lld\n", (long long)fileSize);
            free(buffer);
            MPI_Finalize();
            return anyFailed;
        }
        """#
}
