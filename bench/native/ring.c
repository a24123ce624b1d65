// The C floor of `pnpm bench ring`: the same algorithm as bench/ring/worker.ts
// with @pvkit/virtio-ring, in C with pthreads and C11 atomics. VIRTIO 1.x
// split ring in one buffer, ring size N, one-buffer chains; the driver adds B
// chains then publishes avail.idx once and reclaims when the ring is full;
// the device publishes used.idx every B chains or when the ring runs dry.
// Each side checks what the other wrote as the JS halves do (head and id
// range, ownership, buffer range, used length). Like the library, the
// driver's free list is a queue (heads reused in the order they came back)
// and neither side rewrites a ring word that already holds the value, so
// cache lines the other side reads stay shared. Notify mode: EVENT_IDX plus
// spin-then-futex doorbells that only wake a side that said it may sleep.
//
// usage: ring <poll|notify> <batch> <ring size> <chains> [spin polls, default 1000]   -> one JSON object
#define _GNU_SOURCE
#include "ring-shared.h"

// ---- driver ----
static int add_buffer(uint64_t addr, uint32_t len, uint64_t token) {
  if (drv.num_free == 0) return 0;
  if (addr >= g.mem_size || len > g.mem_size - addr) die("driver: buffer outside memory");
  uint16_t head = drv.free_head;
  drv.free_head = drv.link[head];
  drv.num_free--;
  struct desc d = {addr, len, DESC_F_WRITE, 0};
  if (memcmp(&g.desc[head], &d, sizeof d) != 0) g.desc[head] = d;
  drv.token[head] = token;
  drv.outstanding[head] = 1;
  drv.writable[head] = len;
  if (g.avail_ring[drv.next_avail & (g.n - 1)] != head) g.avail_ring[drv.next_avail & (g.n - 1)] = head;
  drv.next_avail++;
  return 1;
}

static void driver_publish(void) {
  if (drv.next_avail == drv.published) return;
  store16(g.avail_idx, drv.next_avail);
  drv.published = drv.next_avail;
}

static int kick_needed(void) {
  uint16_t now = drv.published, old = drv.kicked;
  if (now == old) return 0;
  drv.kicked = now;
  mb();
  if (g.notify) return need_event(load16(g.avail_event), now, old);
  return !(load16(g.used_flags) & USED_F_NO_NOTIFY);
}

static int reclaim(uint64_t *token, uint32_t *len) {
  uint16_t last = drv.last_used;
  if (last == drv.used_shadow) {
    uint16_t idx = load16(g.used_idx);
    if (idx == last) return 0;
    if ((uint16_t)(idx - last) > g.n) die("driver: used index jump");
    drv.used_shadow = idx;
  }
  struct used_elem e = g.used_ring[last & (g.n - 1)];
  if (e.id >= g.n || !drv.outstanding[e.id]) die("driver: bad used id");
  if (e.len > drv.writable[e.id]) die("driver: used len too large");
  drv.outstanding[e.id] = 0;
  if (drv.num_free == 0) drv.free_head = e.id; else drv.link[drv.free_tail] = e.id;
  drv.free_tail = e.id;
  drv.num_free++;
  drv.last_used = last + 1;
  if (g.notify && drv.interrupts_on) { store16(g.used_event, drv.last_used); }
  *token = drv.token[e.id];
  *len = e.len;
  return 1;
}

static int enable_interrupts(void) {  // 1 if used entries are already waiting
  store16(g.used_event, drv.last_used);
  drv.interrupts_on = 1;
  mb();
  return drv.last_used != drv.used_shadow || load16(g.used_idx) != drv.last_used;
}

static void disable_interrupts(void) {
  if (!drv.interrupts_on) return;
  drv.interrupts_on = 0;
  store16(g.used_event, drv.last_used - 1);
}

static void *run_driver(void *arg) {
  (void)arg;
  long started = 0, completed = 0;
  uint64_t sum = 0;
  struct poller idle = {0, 0, 0};
  int32_t seen = 0;
  start_together();
  double t0 = now_ns();
  if (g.notify) disable_interrupts();
  while (completed < g.count) {
    long room = g.batch;
    if (room > g.count - started) room = g.count - started;
    if (room > drv.num_free) room = drv.num_free;
    if (room > 0) {
      for (long k = 0; k < room; k++) {
        add_buffer(BUF_BASE + (started & (g.n - 1)) * BUF_LEN, BUF_LEN, started);
        started++;
      }
      driver_publish();
      if (g.notify && kick_needed()) { bell_ring(&g.kick); drv.kicks++; }
      if (drv.num_free > 0 && started < g.count) continue;
    }
    long got = 0;
    uint64_t t;
    uint32_t len;
    while (reclaim(&t, &len)) {
      if (len != BUF_LEN) die("driver: wrong used len");
      sum += t;
      got++;
    }
    completed += got;
    if (got > 0) idle.run = 0;
    else if (!g.notify) poll_idle(&idle);
    else {
      if (!enable_interrupts()) { drv.sleeps++; bell_wait(&g.irq, &seen); }
      disable_interrupts();
    }
  }
  drv.elapsed_ns = now_ns() - t0;
  drv.idle = idle.polls;
  drv.yields = idle.yields;
  if (sum != (uint64_t)g.count * (g.count - 1) / 2) die("driver: token sum mismatch");
  return NULL;
}

// ---- device ----
static int pop_head(uint32_t *writable) {
  uint16_t last = dev.last_avail;
  if (last == dev.avail_shadow) {
    uint16_t idx = load16(g.avail_idx);
    if (idx == last) return -1;
    if ((uint16_t)(idx - last) > g.n) die("device: avail index jump");
    dev.avail_shadow = idx;
  }
  uint16_t head = g.avail_ring[last & (g.n - 1)];
  dev.last_avail = last + 1;
  if (head >= g.n || dev.held[head]) die("device: bad head");
  dev.held[head] = 1;
  struct desc d = g.desc[head];  // copied once, then validated
  if (d.flags & (DESC_F_INDIRECT | DESC_F_NEXT)) die("device: unexpected chain");
  if (d.addr >= g.mem_size || d.len > g.mem_size - d.addr) die("device: buffer outside memory");
  *writable = (d.flags & DESC_F_WRITE) ? d.len : 0;
  dev.writable[head] = *writable;
  return head;
}

static void push(uint16_t head, uint32_t len) {
  if (!dev.held[head] || len > dev.writable[head]) die("device: bad push");
  dev.held[head] = 0;
  struct used_elem *u = &g.used_ring[dev.next_used & (g.n - 1)];
  if (u->id != head) u->id = head;
  if (u->len != len) u->len = len;
  dev.next_used++;
}

static void device_publish(void) {
  if (dev.next_used == dev.published) return;
  store16(g.used_idx, dev.next_used);
  dev.published = dev.next_used;
}

static int interrupt_needed(void) {
  uint16_t now = dev.published, old = dev.signalled;
  if (now == old) return 0;
  dev.signalled = now;
  mb();
  if (g.notify) return need_event(load16(g.used_event), now, old);
  return !(load16(g.avail_flags) & AVAIL_F_NO_INTERRUPT);
}

static int enable_notifications(void) {  // 1 if avail entries are already waiting
  store16(g.avail_event, dev.avail_shadow);
  dev.notify_on = 1;
  mb();
  return dev.last_avail != dev.avail_shadow || load16(g.avail_idx) != dev.last_avail;
}

static void disable_notifications(void) {  // a hint with EVENT_IDX: leave the event behind
  if (!dev.notify_on) return;
  dev.notify_on = 0;
  store16(g.avail_event, dev.avail_shadow - 1);
}

static void *run_device(void *arg) {
  (void)arg;
  long done = 0;
  unsigned pending = 0;
  struct poller idle = {0, 0, 0};
  int32_t seen = 0;
  start_together();
  if (g.notify) disable_notifications();
  while (done < g.count) {
    uint32_t writable;
    int head = pop_head(&writable);
    if (head >= 0) {
      push(head, writable);
      done++;
      idle.run = 0;
      if (++pending < g.batch) continue;
    } else if (pending == 0) {
      if (!g.notify) poll_idle(&idle);
      else {
        if (!enable_notifications()) { dev.sleeps++; bell_wait(&g.kick, &seen); }
        disable_notifications();
      }
      continue;
    }
    pending = 0;
    device_publish();
    if (g.notify && interrupt_needed()) { bell_ring(&g.irq); dev.interrupts++; }
  }
  device_publish();
  if (g.notify && interrupt_needed()) { bell_ring(&g.irq); dev.interrupts++; }
  dev.idle = idle.polls;
  dev.yields = idle.yields;
  return NULL;
}

static size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) die("usage: ring <poll|notify> <batch> <ring size> <chains> [spin]");
  g.spin = argc == 6 ? atoi(argv[5]) : 1000;
  g.notify = strcmp(argv[1], "notify") == 0;
  if (!g.notify && strcmp(argv[1], "poll") != 0) die("mode is poll or notify");
  g.batch = (unsigned)atoi(argv[2]);
  g.n = (unsigned)atoi(argv[3]);
  g.count = atol(argv[4]);
  if (g.batch < 1 || g.n < 1 || g.n > 32768 || (g.n & (g.n - 1)) || g.count < 1) die("bad arguments");
  size_t desc = 0, avail = align_up(desc + 16 * g.n, PAD), used = align_up(avail + 6 + 2 * g.n, PAD);
  size_t end = used + 6 + 8 * g.n;
  if (end > BUF_BASE) die("ring too large for the layout");
  g.mem_size = BUF_BASE + g.n * BUF_LEN;
  g.mem = aligned_alloc(4096, align_up(g.mem_size, 4096));
  if (!g.mem) die("out of memory");
  memset(g.mem, 0, g.mem_size);
  g.desc = (struct desc *)(g.mem + desc);
  g.avail_flags = (uint16_t *)(g.mem + avail);
  g.avail_idx = g.avail_flags + 1;
  g.avail_ring = g.avail_flags + 2;
  g.used_event = g.avail_ring + g.n;
  g.used_flags = (uint16_t *)(g.mem + used);
  g.used_idx = g.used_flags + 1;
  g.used_ring = (struct used_elem *)(g.mem + used + 4);
  g.avail_event = (uint16_t *)(g.mem + used + 4 + 8 * g.n);
  drv.link = calloc(g.n, sizeof *drv.link);
  drv.token = calloc(g.n, sizeof *drv.token);
  drv.outstanding = calloc(g.n, 1);
  drv.writable = calloc(g.n, sizeof *drv.writable);
  dev.held = calloc(g.n, 1);
  dev.writable = calloc(g.n, sizeof *dev.writable);
  for (unsigned i = 0; i < g.n; i++) drv.link[i] = (uint16_t)(i + 1);
  drv.num_free = (uint16_t)(g.n > 65535 ? 65535 : g.n);
  drv.free_tail = (uint16_t)(g.n - 1);
  drv.interrupts_on = 1;
  dev.notify_on = 1;
  pthread_t a, b;
  pthread_create(&a, NULL, run_driver, NULL);
  pthread_create(&b, NULL, run_device, NULL);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  double mops = g.count / drv.elapsed_ns * 1e3;
  printf("{\"mops\": %.4f, \"elapsed_ns\": %.0f, \"chains\": %ld, \"kicks\": %ld, \"interrupts\": %ld, "
         "\"driver_sleeps\": %ld, \"device_sleeps\": %ld, \"driver_idle\": %ld, \"device_idle\": %ld, "
         "\"yields\": %ld}\n",
         mops, drv.elapsed_ns, g.count, drv.kicks, dev.interrupts, drv.sleeps, dev.sleeps, drv.idle, dev.idle,
         drv.yields + dev.yields);
  return 0;
}
