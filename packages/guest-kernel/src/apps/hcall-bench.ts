// Time hypercalls from inside the guest: `null` is xen_version(version), the
// classic null hypercall; `multicall` batches 32 of them in one trap.
import {
  HYPERVISOR,
  MULTICALL_ENTRY,
  MULTICALL_ENTRY_SIZE,
  PAGE_SIZE,
  XENVER,
} from '@pvkit/hypercall';
import { type AppSpec, countArgError } from './app.ts';

const BATCH = 32;

export const hcallBench: AppSpec = {
  name: 'hcall-bench',
  usage: 'hcall-bench [null|multicall] [iterations]',
  about: 'time null hypercalls and 32-entry multicalls from the guest',
  check(argv) {
    if (argv[0] !== undefined && argv[0] !== 'null' && argv[0] !== 'multicall')
      return 'first word must be "null" or "multicall"';
    return argv.length > 2 ? 'takes at most two words' : countArgError(argv[1], 'iterations');
  },
  async main(sys, argv) {
    const which = argv[0];
    const iters = Number(argv[1] ?? 100_000);
    const hc = sys.hypercall;
    if (which === undefined || which === 'null') {
      for (let i = 0; i < 1000; i++) hc(HYPERVISOR.xen_version, XENVER.version); // warm up
      const t0 = performance.now();
      for (let i = 0; i < iters; i++) hc(HYPERVISOR.xen_version, XENVER.version);
      const ns = ((performance.now() - t0) * 1e6) / iters;
      sys.print(`hcall-bench: null ${iters} calls, ${ns.toFixed(1)} ns per call`);
    }
    if (which === undefined || which === 'multicall') {
      const gpa = sys.allocPages(Math.ceil((BATCH * MULTICALL_ENTRY_SIZE) / PAGE_SIZE));
      for (let i = 0; i < BATCH; i++) {
        const e = gpa + i * MULTICALL_ENTRY_SIZE;
        sys.memory.setUint32(e + MULTICALL_ENTRY.op, HYPERVISOR.xen_version, true);
        sys.memory.setUint32(e + MULTICALL_ENTRY.args, XENVER.version, true);
      }
      const batches = Math.max(1, Math.round(iters / BATCH));
      const t0 = performance.now();
      for (let i = 0; i < batches; i++) {
        const r = hc(HYPERVISOR.multicall, gpa, BATCH);
        if (r !== 0) throw new Error(`multicall failed: ${r}`);
      }
      const ns = ((performance.now() - t0) * 1e6) / (batches * BATCH);
      sys.print(
        `hcall-bench: multicall-${BATCH} ${batches * BATCH} calls, ${ns.toFixed(1)} ns per call`,
      );
    }
    return 0;
  },
};
