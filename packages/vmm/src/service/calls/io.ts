// console_io and pvkit_mmio_op: the two ways a guest reaches a device by
// trap. The console is line-buffered per domain and sent to the toolstack;
// MMIO registers belong to the register model of the device type.
import { CONSOLEIO, ERRNO, LIMITS, MMIOOP } from '@pvkit/hypercall';
import { mmioModelFor } from '../../devices/models.ts';
import type { Handler } from '../context.ts';

export const consoleIo: Handler = (_svc, d, _vcpu, a) => {
  const [cmd, count, gpa] = a;
  if (cmd !== CONSOLEIO.write && cmd !== CONSOLEIO.read) return -ERRNO.EINVAL;
  if (!Number.isInteger(count) || count < 0 || count > LIMITS.console_bytes) return -ERRNO.EINVAL;
  if (!d.inRange(gpa, count)) return -ERRNO.EFAULT;
  if (cmd === CONSOLEIO.write) {
    d.consoleWrite(d.u8.slice(gpa, gpa + count));
    return count;
  }
  let n = 0;
  while (n < count && d.consoleIn.length > 0) {
    const head = d.consoleIn[0];
    const take = Math.min(head.length, count - n);
    d.u8.set(head.subarray(0, take), gpa + n);
    n += take;
    if (take === head.length) d.consoleIn.shift();
    else d.consoleIn[0] = head.subarray(take);
  }
  return n;
};

/** pvkit_mmio_op(sub, handle, offset, value, width): one virtio-mmio register access. */
export const mmioOp: Handler = (_svc, d, _vcpu, a) => {
  const [sub, handle, offset, value, width] = a;
  if (sub !== MMIOOP.read && sub !== MMIOOP.write) return -ERRNO.EINVAL;
  if (!Number.isInteger(handle) || handle < 0 || handle >= d.devices.length) return -ERRNO.ENODEV;
  if (width !== 4 || !Number.isInteger(offset) || offset < 0 || offset % 4 !== 0)
    return -ERRNO.EINVAL;
  const model = mmioModelFor(d, handle);
  if (!model) return -ERRNO.ENODEV;
  if (sub === MMIOOP.read) return model.read(offset);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) return -ERRNO.EINVAL;
  return model.write(offset, value);
};
