// Runs in every test process before its tests: tests start and end real
// workers by the hundred, which on Node 20 can abort the process unless V8
// compiles on the workers' own threads (packages/vmm/src/boot/worker-teardown.ts).
import { compileOnWorkerThreads } from '../../packages/vmm/src/boot/worker-teardown.ts';

compileOnWorkerThreads();
