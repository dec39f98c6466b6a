/*
 * trellis-exec-rank -- PROGRAM ARGS...
 *
 * The first moments of a rank (or a proxy) started by trellis run: ask the
 * kernel to kill this process when the process that started it dies, even
 * by SIGKILL, then become PROGRAM. posix_spawn cannot set the parent-death
 * signal itself; this small C program does it at the cost of one exec that
 * loads almost nothing, where `trellis exec-rank` (the same in Swift, kept
 * for builds without this helper) loads the whole trellis binary first.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int first = (argc > 1 && strcmp(argv[1], "--") == 0) ? 2 : 1;
    if (first >= argc) {
        fputs("trellis-exec-rank: no program given\n", stderr);
        return 2;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The launcher may have died before the line above took effect. */
    const char *expected = getenv("TRELLIS_LAUNCHER_PID");
    if (expected != NULL && getppid() != (pid_t)strtol(expected, NULL, 10)) return 1;
    execvp(argv[first], argv + first);
    int code = errno;
    fprintf(stderr, "trellis run: cannot start '%s': %s\n", argv[first], strerror(code));
    return code == ENOENT ? 127 : 126;
}
