#ifndef TRELLIS_CMUNGE_H
#define TRELLIS_CMUNGE_H

#include <sys/types.h>

/* MUNGE (the credential service Slurm uses) without its variadic context
 * setter, which Swift cannot call. `socket` names munged's socket; NULL
 * keeps MUNGE's default. Each returns 0 or MUNGE's error number, with
 * `message` set to MUNGE's own words for it. */

/* A credential carrying `payload`, made by the local munged for the
 * calling process's uid and gid; free it with free(). */
int trellis_munge_encode(const char *socket, const void *payload, int length, char **credential, const char **message);

/* The uid, gid and payload a credential proves (payload freed with free()).
 * A credential already decoded once, expired, or made with another key fails. */
int trellis_munge_decode(const char *socket, const char *credential, void **payload, int *length, uid_t *uid, gid_t *gid,
                         const char **message);

#endif
