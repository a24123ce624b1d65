// What both halves of ring.c share: the split ring laid out in one buffer,
// each side's private state, the memory-order helpers, and the two ways a
// side waits for the other (a futex doorbell in notify mode, a brief yield
// in poll mode). Included by ring.c only: one translation unit, so the
// compiler inlines these into the driver and device loops as before.
#pragma once
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define DESC_F_INDIRECT 4
#define AVAIL_F_NO_INTERRUPT 1
#define USED_F_NO_NOTIFY 1
#define BUF_LEN 64
#define BUF_BASE (64 * 1024)
#define IDLE_YIELD_POLLS (1 << 14)
#define IDLE_YIELD_NS 20000
#define PAD 128

struct desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct used_elem { uint32_t id; uint32_t len; };

struct bell {
  _Alignas(PAD) _Atomic int32_t seq;
  _Atomic int32_t sleepers;
};

static struct {
  uint8_t *mem;
  size_t mem_size;
  unsigned n;
  struct desc *desc;
  uint16_t *avail_flags, *avail_idx, *avail_ring, *used_event;
  uint16_t *used_flags, *used_idx, *avail_event;
  struct used_elem *used_ring;
  int notify;
  int spin;
  unsigned batch;
  long count;
  _Alignas(PAD) _Atomic int ready;
  struct bell kick, irq;
} g;

// Each side's private state on its own cache lines.
static struct driver {
  _Alignas(PAD) uint16_t free_head, free_tail, num_free, next_avail, published, kicked, last_used, used_shadow;
  int interrupts_on;
  uint16_t *link;
  uint64_t *token;
  uint8_t *outstanding;
  uint32_t *writable;
  long kicks, sleeps, idle, yields;
  double elapsed_ns;
  char pad[PAD];
} drv;

static struct device {
  _Alignas(PAD) uint16_t last_avail, avail_shadow, next_used, published, signalled;
  int notify_on;
  uint8_t *held;
  uint32_t *writable;
  long interrupts, sleeps, idle, yields;
  char pad[PAD];
} dev;

static inline uint16_t load16(uint16_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void store16(uint16_t *p, uint16_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void mb(void) { atomic_thread_fence(memory_order_seq_cst); }
static inline int need_event(uint16_t event, uint16_t new_idx, uint16_t old) {
  return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}
static void die(const char *what) { fprintf(stderr, "ring: %s\n", what); exit(1); }

static void bell_ring(struct bell *b) {
  atomic_fetch_add(&b->seq, 1);
  if (atomic_load(&b->sleepers) != 0)
    syscall(SYS_futex, &b->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

// A FUTEX_WAIT can return with the ring count unchanged: EINTR, or a stale
// FUTEX_WAKE. bell_ring() reads `sleepers` and only then enters the kernel;
// if the waiter meanwhile saw the new count (EAGAIN), went back to work and
// then to sleep again, that late wake lands on the new wait, which finds
// `seq` still equal to `*seen`. Only a changed count or the deadline ends a
// wait; the stuck check measures the time, not the number of returns.
static void bell_wait(struct bell *b, int32_t *seen) {
  for (int k = 0; k < g.spin; k++) {
    int32_t v = atomic_load(&b->seq);
    if (v != *seen) { *seen = v; return; }
  }
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += 10;
  atomic_fetch_add(&b->sleepers, 1);
  int32_t v;
  while ((v = atomic_load(&b->seq)) == *seen) {
    struct timespec now, left;
    clock_gettime(CLOCK_MONOTONIC, &now);
    left.tv_sec = deadline.tv_sec - now.tv_sec;
    left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
    if (left.tv_nsec < 0) { left.tv_sec--; left.tv_nsec += 1000000000L; }
    if (left.tv_sec < 0) die("stuck: no doorbell for 10 s");
    syscall(SYS_futex, &b->seq, FUTEX_WAIT_PRIVATE, *seen, &left, NULL, 0);
  }
  atomic_fetch_sub(&b->sleepers, 1);
  *seen = v;
}

// Poll mode on a machine with more runnable threads than cores: after a
// long run of empty polls the other side is probably not running, so give
// the core away for a moment (bench/ring/worker.ts does the same).
struct poller { long polls, yields, run; };
static _Atomic int32_t idle_word;

static void poll_idle(struct poller *p) {
  p->polls++;
  if (++p->run < IDLE_YIELD_POLLS) return;
  p->run = 0;
  p->yields++;
  struct timespec ts = {0, IDLE_YIELD_NS};
  syscall(SYS_futex, &idle_word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void start_together(void) {
  atomic_fetch_add(&g.ready, 1);
  while (atomic_load(&g.ready) < 2) {}
}
