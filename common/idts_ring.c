#include "idts_ring.h"

#include <errno.h>
#include <string.h>

static uint32_t record_bytes(uint32_t length)
{
    return IDTS_RECORD_HEADER_SIZE + ((length + IDTS_RECORD_ALIGN - 1) & ~(IDTS_RECORD_ALIGN - 1));
}

static int ring_break(struct idts_ring *ring)
{
    ring->error = -EPROTO;
    return -EPROTO;
}

int idts_ring_size_valid(uint32_t ring_size)
{
    return ring_size >= IDTS_RING_MIN_SIZE && ring_size <= IDTS_RING_MAX_SIZE &&
           (ring_size & (ring_size - 1)) == 0;
}

void idts_ring_init(struct idts_ring *ring, struct idts_ring_ctrl *ctrl, uint8_t *data,
                    uint32_t size)
{
    memset(ring, 0, sizeof(*ring));
    ring->ctrl = ctrl;
    ring->data = data;
    ring->size = size;
}

/* Load the peer's index once; refuse it unless 0 <= prod - cons <= size. */
static int load_peer(struct idts_ring *ring, const uint32_t *index, int we_produce)
{
    uint32_t peer = __atomic_load_n(index, __ATOMIC_ACQUIRE);
    uint32_t used = we_produce ? ring->head - peer : peer - ring->head;

    if (used > ring->size)
        return ring_break(ring);
    ring->peer = peer;
    return 0;
}

/* Bytes of padding needed before a record of `bytes` at the producer's head. */
static uint32_t pad_before(const struct idts_ring *ring, uint32_t bytes)
{
    uint32_t to_end = ring->size - (ring->head & (ring->size - 1));

    return to_end < bytes ? to_end : 0;
}

static int room_for(struct idts_ring *ring, uint32_t length)
{
    uint32_t bytes = record_bytes(length);
    uint32_t needed = pad_before(ring, bytes) + bytes;

    if (ring->size - (ring->head - ring->peer) >= needed)
        return 0;
    if (load_peer(ring, &ring->ctrl->cons, 1))
        return -EPROTO;
    return ring->size - (ring->head - ring->peer) >= needed ? 0 : -EAGAIN;
}

static void write_header(struct idts_ring *ring, uint32_t length, uint16_t seq, uint8_t type,
                         uint8_t tag)
{
    struct idts_record_header header = {.length = length, .seq = seq, .type = type, .tag = tag};

    memcpy(ring->data + (ring->head & (ring->size - 1)), &header, sizeof(header));
}

int idts_ring_reserve(struct idts_ring *ring, uint32_t length, void **payload)
{
    uint32_t pad;
    int rc;

    if (ring->error)
        return ring->error;
    if (length > idts_ring_max_payload(ring->size))
        return -EMSGSIZE;
    rc = room_for(ring, length);
    if (rc)
        return rc;
    pad = pad_before(ring, record_bytes(length));
    if (pad) {
        /* Published together with the record by idts_ring_commit(). */
        write_header(ring, pad - IDTS_RECORD_HEADER_SIZE, 0, IDTS_RECORD_PAD, 0);
        ring->head += pad;
    }
    ring->pending = record_bytes(length);
    *payload = ring->data + (ring->head & (ring->size - 1)) + IDTS_RECORD_HEADER_SIZE;
    return 0;
}

void idts_ring_commit(struct idts_ring *ring, uint8_t tag, uint32_t length)
{
    write_header(ring, length, ring->seq++, IDTS_RECORD_DATA, tag);
    ring->head += record_bytes(length);
    ring->pending = 0;
    __atomic_store_n(&ring->ctrl->prod, ring->head, __ATOMIC_RELEASE);
}

int idts_ring_writable(struct idts_ring *ring, uint32_t length)
{
    return !ring->error && length <= idts_ring_max_payload(ring->size) &&
           room_for(ring, length) == 0;
}

/* Copy the header out of shared memory once; only the copy is looked at. */
static struct idts_record_header read_header(const struct idts_ring *ring)
{
    struct idts_record_header header;

    memcpy(&header, ring->data + (ring->head & (ring->size - 1)), sizeof(header));
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return header;
}

/* Skip a PAD record at head, if that is what is there; -EPROTO if malformed. */
static int skip_pad(struct idts_ring *ring, const struct idts_record_header *header,
                    uint32_t available)
{
    uint32_t to_end = ring->size - (ring->head & (ring->size - 1));

    if (header->length != to_end - IDTS_RECORD_HEADER_SIZE || to_end > available)
        return ring_break(ring);
    ring->head += to_end;
    return 0;
}

int idts_ring_peek(struct idts_ring *ring, struct idts_record *record)
{
    for (;;) {
        struct idts_record_header header;
        uint32_t available, bytes, to_end;

        if (ring->error)
            return ring->error;
        if (ring->peer == ring->head) {
            if (load_peer(ring, &ring->ctrl->prod, 0))
                return -EPROTO;
            if (ring->peer == ring->head)
                return 0;
        }
        /* A header never crosses the ring's end; if it lies beyond prod it is
         * garbage that the length checks below reject. */
        available = ring->peer - ring->head;
        header = read_header(ring);
        if (header.type == IDTS_RECORD_PAD) {
            if (skip_pad(ring, &header, available))
                return -EPROTO;
            continue;
        }
        to_end = ring->size - (ring->head & (ring->size - 1));
        if (header.type != IDTS_RECORD_DATA || header.seq != ring->seq ||
            header.length > idts_ring_max_payload(ring->size))
            return ring_break(ring);
        bytes = record_bytes(header.length);
        if (bytes > available || bytes > to_end)
            return ring_break(ring);
        record->data = ring->data + (ring->head & (ring->size - 1)) + IDTS_RECORD_HEADER_SIZE;
        record->length = header.length;
        record->tag = header.tag;
        ring->pending = bytes;
        return 1;
    }
}

void idts_ring_release(struct idts_ring *ring)
{
    ring->head += ring->pending;
    ring->pending = 0;
    ring->seq++;
    __atomic_store_n(&ring->ctrl->cons, ring->head, __ATOMIC_RELEASE);
}

static void ask(uint32_t *flag)
{
    __atomic_store_n(flag, 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void idts_ring_ask_data(struct idts_ring *ring)
{
    ask(&ring->ctrl->consumer_waiting);
}

void idts_ring_ask_space(struct idts_ring *ring)
{
    ask(&ring->ctrl->producer_waiting);
}

static int take(uint32_t *flag)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(flag, __ATOMIC_RELAXED) &&
           __atomic_exchange_n(flag, 0, __ATOMIC_RELAXED);
}

int idts_ring_take_data_request(struct idts_ring *ring)
{
    return take(&ring->ctrl->consumer_waiting);
}

int idts_ring_take_space_request(struct idts_ring *ring)
{
    return take(&ring->ctrl->producer_waiting);
}
