// Native floor for `pnpm bench hypercall` case `null`: two pthreads, one
// "guest" and one "hypervisor", round-tripping a request through one shared
// cache line with acquire/release atomics, both sides spinning. This is the
// least a synchronous cross-thread trap can cost on this machine.
//
// usage: hcall <iterations> <runs>   → one JSON object on stdout:
//   {"ns": <median ns per round trip>, "runs": N, "min": .., "max": ..}
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

// Request and answer on their own cache lines (the mailbox of pvkit has
// its state word and the service-side words apart in the same way).
struct mailbox {
  _Alignas(128) atomic_int state; // 0 idle, 1 request, 2 done
  int nr;
  long long result;
  _Alignas(128) atomic_int stop;
};

static struct mailbox mbx;

static void *service(void *arg) {
  (void)arg;
  for (;;) {
    int s = atomic_load_explicit(&mbx.state, memory_order_acquire);
    if (s == 1) {
      mbx.result = -(long long)mbx.nr; // a "call": read the number, write a result
      atomic_store_explicit(&mbx.state, 2, memory_order_release);
    } else if (atomic_load_explicit(&mbx.stop, memory_order_relaxed)) {
      return NULL;
    }
  }
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 1000000;
  int runs = argc > 2 ? atoi(argv[2]) : 5;
  if (iters <= 0 || runs <= 0 || runs > 64) {
    fprintf(stderr, "usage: hcall <iterations> <runs 1..64>\n");
    return 2;
  }
  pthread_t t;
  if (pthread_create(&t, NULL, service, NULL) != 0) {
    perror("pthread_create");
    return 1;
  }
  double res[64];
  long long check = 0;
  for (int r = 0; r < runs; r++) {
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
      mbx.nr = 17;
      atomic_store_explicit(&mbx.state, 1, memory_order_release);
      while (atomic_load_explicit(&mbx.state, memory_order_acquire) != 2) {
      }
      check += mbx.result;
    }
    res[r] = (now_ns() - t0) / (double)iters;
  }
  atomic_store(&mbx.stop, 1);
  atomic_store(&mbx.state, 0);
  pthread_join(t, NULL);
  if (check != -17LL * iters * runs) {
    fprintf(stderr, "hcall: results lost (%lld)\n", check);
    return 1;
  }
  qsort(res, (size_t)runs, sizeof res[0], cmp);
  printf("{\"ns\": %.1f, \"runs\": %d, \"min\": %.1f, \"max\": %.1f}\n", res[runs / 2], runs, res[0],
         res[runs - 1]);
  return 0;
}
