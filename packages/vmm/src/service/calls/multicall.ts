// multicall: a batch of calls laid out in guest memory, run in order in one
// trap (Xen's xen/common/multicall.c). Each entry's result is written back;
// an entry that is itself a multicall gets -EINVAL. The entries are read
// one at a time into private memory, so a guest that rewrites them during
// the batch changes only its own later entries.
import {
  ERRNO,
  HYPERVISOR,
  LIMITS,
  MAX_HYPERCALL_ARGS,
  MULTICALL_ENTRY,
  MULTICALL_ENTRY_SIZE,
} from '@pvkit/hypercall';
import type { Handler } from '../context.ts';

const TWO32 = 2 ** 32;

export const multicall: Handler = (svc, d, vcpu, a) => {
  const [gpa, n] = a;
  if (d.inMulticall) return -ERRNO.EINVAL;
  if (!Number.isInteger(n) || n < 0 || n > LIMITS.multicall_entries) return -ERRNO.EINVAL;
  if (!d.inRange(gpa, n * MULTICALL_ENTRY_SIZE)) return -ERRNO.EFAULT;
  const args = new Float64Array(MAX_HYPERCALL_ARGS);
  const dv = d.dv;
  d.inMulticall = true;
  try {
    for (let i = 0; i < n && !d.dead; i++) {
      const e = gpa + i * MULTICALL_ENTRY_SIZE;
      const opHi = dv.getUint32(e + MULTICALL_ENTRY.op + 4, true);
      const op = opHi === 0 ? dv.getUint32(e + MULTICALL_ENTRY.op, true) : -1;
      for (let k = 0; k < MAX_HYPERCALL_ARGS; k++) {
        const at = e + MULTICALL_ENTRY.args + 8 * k;
        args[k] = dv.getInt32(at + 4, true) * TWO32 + dv.getUint32(at, true);
      }
      const r = op === HYPERVISOR.multicall ? -ERRNO.EINVAL : svc.dispatch(d, vcpu, op, args);
      if (d.dead) break;
      dv.setUint32(e + MULTICALL_ENTRY.result, r >>> 0, true);
      dv.setInt32(e + MULTICALL_ENTRY.result + 4, Math.floor(r / TWO32), true);
    }
  } finally {
    d.inMulticall = false;
  }
  return 0;
};
