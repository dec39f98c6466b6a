#include <munge.h>
#include <stddef.h>
#include "CMunge.h"

static munge_ctx_t context_for(const char *socket, munge_err_t *error) {
    munge_ctx_t context = munge_ctx_create();
    *error = EMUNGE_NO_MEMORY;
    if (context == NULL) return NULL;
    *error = EMUNGE_SUCCESS;
    if (socket != NULL) *error = munge_ctx_set(context, MUNGE_OPT_SOCKET, socket);
    return context;
}

int trellis_munge_encode(const char *socket, const void *payload, int length, char **credential, const char **message) {
    munge_err_t error;
    munge_ctx_t context = context_for(socket, &error);
    *credential = NULL;
    if (error == EMUNGE_SUCCESS) error = munge_encode(credential, context, payload, length);
    *message = munge_strerror(error);
    if (context != NULL) munge_ctx_destroy(context);
    return (int)error;
}

int trellis_munge_decode(const char *socket, const char *credential, void **payload, int *length, uid_t *uid, gid_t *gid,
                         const char **message) {
    munge_err_t error;
    munge_ctx_t context = context_for(socket, &error);
    *payload = NULL;
    *length = 0;
    if (error == EMUNGE_SUCCESS) error = munge_decode(credential, context, payload, length, uid, gid);
    *message = munge_strerror(error);
    if (context != NULL) munge_ctx_destroy(context);
    return (int)error;
}
