#define _GNU_SOURCE
#include "CTrellisSystem.h"
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

/* A single-producer, single-consumer byte ring in memory shared by two
   processes. `head` and `tail` count bytes ever written and read; each is
   written by one side only, with release ordering after (or before) the
   copy it covers, so the other side never sees a byte before it is there
   nor overwrites one before it is read. The two sleep flags follow
   Dekker's pattern with full fences: a side that is about to sleep sets its
   flag, then looks once more; the other side publishes, then looks at the
   flag. One of them always sees the other, so no wake-up is lost. */

static inline uint64_t load_acquire(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void store_release(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* Copies `length` bytes between `buffer` and the ring's data from ring
   position `position` on, wrapping at `capacity`: into the ring when
   `into_ring`, else out of it. */
static void copy_wrapped(uint8_t *data, size_t capacity, uint64_t position, uint8_t *buffer, size_t length, int into_ring) {
    size_t done = 0;
    while (done < length) {
        size_t offset = (size_t)((position + done) % capacity);
        size_t piece = capacity - offset;
        if (piece > length - done) piece = length - done;
        if (into_ring) memcpy(data + offset, buffer + done, piece);
        else memcpy(buffer + done, data + offset, piece);
        done += piece;
    }
}

/* Publishes this side's counter, then takes the other side's sleep flag:
   1 when the other side slept and must be woken. */
static int publish(uint64_t *counter, uint64_t value, uint32_t *other_sleeps) {
    store_release(counter, value);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(other_sleeps, __ATOMIC_RELAXED) && __atomic_exchange_n(other_sleeps, 0, __ATOMIC_SEQ_CST);
}

size_t trellis_ring_write(trellis_ring_control *ring, uint8_t *data, size_t capacity, const struct iovec *vectors, int count,
                          int *wake_consumer) {
    uint64_t head = ring->head;
    size_t space = capacity - (size_t)(head - load_acquire(&ring->tail));
    size_t copied = 0;
    for (int i = 0; i < count && space > 0; i++) {
        size_t length = vectors[i].iov_len < space ? vectors[i].iov_len : space;
        copy_wrapped(data, capacity, head + copied, vectors[i].iov_base, length, 1);
        copied += length;
        space -= length;
    }
    *wake_consumer = copied > 0 && publish(&ring->head, head + copied, &ring->consumer_sleeping);
    return copied;
}

size_t trellis_ring_read(trellis_ring_control *ring, uint8_t *data, size_t capacity, uint8_t *target, size_t maximum,
                         int *wake_producer) {
    uint64_t tail = ring->tail;
    size_t available = (size_t)(load_acquire(&ring->head) - tail);
    if (available > maximum) available = maximum;
    copy_wrapped(data, capacity, tail, target, available, 0);
    *wake_producer = available > 0 && publish(&ring->tail, tail + available, &ring->producer_waiting);
    return available;
}

size_t trellis_ring_readable(const trellis_ring_control *ring) {
    return (size_t)(load_acquire(&ring->head) - __atomic_load_n(&ring->tail, __ATOMIC_RELAXED));
}

size_t trellis_ring_writable(const trellis_ring_control *ring, size_t capacity) {
    return capacity - (size_t)(__atomic_load_n(&ring->head, __ATOMIC_RELAXED) - load_acquire(&ring->tail));
}

int trellis_ring_consumer_will_sleep(trellis_ring_control *ring) {
    __atomic_store_n(&ring->consumer_sleeping, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return trellis_ring_readable(ring) == 0;
}

void trellis_ring_consumer_awake(trellis_ring_control *ring) {
    __atomic_store_n(&ring->consumer_sleeping, 0, __ATOMIC_RELAXED);
}

int trellis_ring_producer_will_sleep(trellis_ring_control *ring, size_t capacity) {
    __atomic_store_n(&ring->producer_waiting, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return trellis_ring_writable(ring, capacity) == 0;
}

void trellis_ring_producer_awake(trellis_ring_control *ring) {
    __atomic_store_n(&ring->producer_waiting, 0, __ATOMIC_RELAXED);
}

int trellis_memfd_create(const char *name) { return memfd_create(name, MFD_CLOEXEC); }
