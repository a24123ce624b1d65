// The hypercall table: call number -> handler. Unknown numbers get -ENOSYS.
import { ERRNO, HYPERVISOR, NR_HYPERCALLS } from '@pvkit/hypercall';
import { eventChannelOp } from './calls/evtchn.ts';
import { memoryOp, vcpuOp, xenVersion } from './calls/info.ts';
import { consoleIo, mmioOp } from './calls/io.ts';
import { multicall } from './calls/multicall.ts';
import { schedOp, setTimerOp } from './calls/sched.ts';
import type { Handler } from './context.ts';

const enosys: Handler = () => -ERRNO.ENOSYS;

export function hypercallTable(): Handler[] {
  const t: Handler[] = new Array(NR_HYPERCALLS).fill(enosys);
  t[HYPERVISOR.memory_op] = memoryOp;
  t[HYPERVISOR.multicall] = multicall;
  t[HYPERVISOR.set_timer_op] = setTimerOp;
  t[HYPERVISOR.xen_version] = xenVersion;
  t[HYPERVISOR.console_io] = consoleIo;
  t[HYPERVISOR.vcpu_op] = vcpuOp;
  t[HYPERVISOR.sched_op] = schedOp;
  t[HYPERVISOR.event_channel_op] = eventChannelOp;
  t[HYPERVISOR.pvkit_mmio_op] = mmioOp;
  return t;
}

/** Call names by number, for messages and `pvkit stat`. */
export const CALL_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(HYPERVISOR).map(([name, nr]) => [nr, name]),
);
