// Why pvkit's workers compile their hot code on their own thread.
//
// Node 20 ends a worker by unregistering its isolate from the platform and
// only then disposing it (src/node_worker.cc, ~WorkerThreadData). Disposal is
// what stops V8's background compiler; in the window between the two, a
// TurboFan job of that isolate can still be running on a helper thread. If
// the job's allocation asks for a GC, V8 looks up the isolate's task runner,
// finds nothing, and Node aborts the whole process:
//
//   node_platform.cc: NodePlatform::ForIsolate
//   Assertion failed: (data.first) != nullptr
//
// For pvkit that means destroying one domain (or a test ending its workers)
// can kill the VMM and every other domain with it. CI hit it once, with a
// background TurboFan job in the native stack. Without concurrent
// recompilation a worker's TurboFan jobs run on the worker's own thread,
// inside its isolate's lifetime, so the window holds nothing. The cost is a
// few milliseconds of compiling per hot function during warm-up, taken on the
// thread that asked. In paired runs hypercall null measured the same with and
// without it (BENCHMARKS.md, "Fifth session").
import { setFlagsFromString } from 'node:v8';

let applied = false;

/**
 * Turn off V8's background TurboFan compiles for workers started from now on
 * (the flag is read when an isolate is created, so the calling thread keeps
 * its own). Idempotent; call it before starting the first worker.
 */
export function compileOnWorkerThreads(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--no-concurrent-recompilation');
}
