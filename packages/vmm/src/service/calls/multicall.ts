// multicall: a batch of calls laid out in guest memory, run in order in one
// trap (Xen's xen/common/multicall.c). Each entry's result is written back;
// an entry that is itself a multicall gets -EINVAL. The list is 8-byte
// aligned, so entries are read as words. The entries are read
// one at a time into private memory, so a guest that rewrites them during
// the batch changes only its own later entries.
import {
  ERRNO,
  HYPERVISOR,
  LIMITS,
  MAX_HYPERCALL_ARGS,
  MULTICALL_ALIGN,
  MULTICALL_ENTRY,
  MULTICALL_ENTRY_SIZE,
  readI64,
  writeI64,
} from '@pvkit/hypercall';
import type { Handler } from '../context.ts';

const OP = MULTICALL_ENTRY.op >>> 2;
const RESULT = MULTICALL_ENTRY.result >>> 2;
const ARGS = MULTICALL_ENTRY.args >>> 2;

export const multicall: Handler = (svc, d, vcpu, a) => {
  const [gpa, n] = a;
  if (d.inMulticall) return -ERRNO.EINVAL;
  if (!Number.isInteger(n) || n < 0 || n > LIMITS.multicall_entries) return -ERRNO.EINVAL;
  if (gpa % MULTICALL_ALIGN !== 0) return -ERRNO.EINVAL;
  if (!d.inRange(gpa, n * MULTICALL_ENTRY_SIZE)) return -ERRNO.EFAULT;
  const args = new Float64Array(MAX_HYPERCALL_ARGS);
  const w = d.words;
  d.inMulticall = true;
  try {
    for (let i = 0; i < n && !d.dead; i++) {
      const e = (gpa + i * MULTICALL_ENTRY_SIZE) >>> 2;
      const op = w[e + OP + 1] === 0 ? w[e + OP] : -1; // a u64 op above 2^31 is no call
      for (let k = 0; k < MAX_HYPERCALL_ARGS; k++) args[k] = readI64(w, e + ARGS + 2 * k);
      const r = op === HYPERVISOR.multicall ? -ERRNO.EINVAL : svc.dispatch(d, vcpu, op, args);
      if (d.dead) break;
      writeI64(w, e + RESULT, r);
    }
  } finally {
    d.inMulticall = false;
  }
  return 0;
};
