// Bad input gets the right -errno, and the service keeps serving.

import {
  CONSOLEIO,
  createMailbox,
  DOMAIN_COUNTERS_BYTES,
  DOMID_SELF,
  ERRNO,
  EVTCHNOP,
  HYPERVISOR,
  LIMITS,
  MAILBOX,
  MEMORY_MAP,
  MMIOOP,
  MULTICALL_ENTRY,
  MULTICALL_ENTRY_SIZE,
  NR_EVENT_CHANNELS,
  NR_VIRQS,
  SCHEDOP,
  VCPUOP,
  XENMEM,
  XENVER,
} from '@pvkit/hypercall';
import { describe, expect, test } from 'vitest';
import { rig } from './rig.ts';

const { EFAULT, EINVAL, ENOSYS, ENODEV, ENOENT, EEXIST } = ERRNO;
const H = HYPERVISOR;
const MB = 1 << 20;

describe('-ENOSYS for call numbers nobody serves', () => {
  test.each([0, 1, 11, 14, 63, 64, -1, 2 ** 31 - 1])('nr %d', (nr) => {
    const d = rig().domain(1);
    expect(d.call(nr)).toBe(-ENOSYS);
  });
});

describe('-EINVAL for sub-ops that do not exist', () => {
  test.each([
    [H.sched_op, 99],
    [H.console_io, 2],
    [H.event_channel_op, 2],
    [H.event_channel_op, 8],
    [H.xen_version, 3],
    [H.memory_op, 0],
    [H.vcpu_op, 0],
    [H.pvkit_mmio_op, 7],
    [H.sched_op, -1],
  ])('call %d sub-op %d', (nr, sub) => {
    expect(rig().domain(1).call(nr, sub)).toBe(-EINVAL);
  });
});

describe('-EFAULT for guest-physical ranges outside the domain', () => {
  test.each([
    ['console write past the end', H.console_io, [CONSOLEIO.write, 16, MB - 8]],
    ['console read at a huge GPA', H.console_io, [CONSOLEIO.read, 1, 2 ** 52]],
    ['console at a negative GPA', H.console_io, [CONSOLEIO.write, 1, -4096]],
    ['memory_map argument', H.memory_op, [XENMEM.memory_map, MB]],
    ['evtchn status output', H.event_channel_op, [EVTCHNOP.status, DOMID_SELF, 1, MB - 4]],
    ['vcpu time area', H.vcpu_op, [VCPUOP.register_vcpu_time_memory_area, 0, MB - 8]],
    ['xen_version extraversion', H.xen_version, [XENVER.extraversion, MB]],
    ['multicall list', H.multicall, [MB - MULTICALL_ENTRY_SIZE, 2]],
    ['poll port array', H.sched_op, [SCHEDOP.poll, MB - 2, 1, 0]],
  ] as const)('%s', (_what, nr, args) => {
    expect(
      rig()
        .domain(1)
        .call(nr, ...args),
    ).toBe(-EFAULT);
  });

  test('memory_map buffer outside memory', () => {
    const d = rig().domain(1);
    d.dv.setUint32(0x10000 + MEMORY_MAP.nr_entries, 4, true);
    d.dv.setUint32(0x10000 + MEMORY_MAP.buffer, MB - 8, true);
    expect(d.call(H.memory_op, XENMEM.memory_map, 0x10000)).toBe(-EFAULT);
  });
});

describe('-EINVAL for bad ports and arguments', () => {
  test.each([
    ['send on port 0', H.event_channel_op, [EVTCHNOP.send, 0]],
    ['send on a port past the end', H.event_channel_op, [EVTCHNOP.send, NR_EVENT_CHANNELS]],
    ['send on a free port', H.event_channel_op, [EVTCHNOP.send, 5]],
    ['close a free port', H.event_channel_op, [EVTCHNOP.close, 5]],
    ['unmask port 0', H.event_channel_op, [EVTCHNOP.unmask, 0]],
    ['bind a VIRQ that does not exist', H.event_channel_op, [EVTCHNOP.bind_virq, NR_VIRQS, 0]],
    ['alloc_unbound for an impossible domid', H.event_channel_op, [EVTCHNOP.alloc_unbound, 0x8000]],
    ['status of port 0', H.event_channel_op, [EVTCHNOP.status, DOMID_SELF, 0, 0x10000]],
    ['shutdown with an unknown reason', H.sched_op, [SCHEDOP.shutdown, 9]],
    ['a negative timer deadline', H.set_timer_op, [-1]],
    [
      'console_io beyond its limit',
      H.console_io,
      [CONSOLEIO.write, LIMITS.console_bytes + 1, 0x10000],
    ],
    ['poll with no ports', H.sched_op, [SCHEDOP.poll, 0x10000, 0, 0]],
    ['poll on port 0', H.sched_op, [SCHEDOP.poll, 0x10000, 1, 0]],
    ['multicall longer than its limit', H.multicall, [0x10000, LIMITS.multicall_entries + 1]],
    ['multicall list not 8-byte aligned', H.multicall, [0x10004, 1]],
    ['features submap 1', H.xen_version, [XENVER.get_features, 1]],
    [
      'vcpu time area not 8-aligned',
      H.vcpu_op,
      [VCPUOP.register_vcpu_time_memory_area, 0, 0x10004],
    ],
  ] as const)('%s', (_what, nr, args) => {
    expect(
      rig()
        .domain(1)
        .call(nr, ...args),
    ).toBe(-EINVAL);
  });

  test('binding VIRQ_TIMER twice is -EEXIST; a vCPU that does not exist is -ENOENT', () => {
    const d = rig().domain(1);
    expect(d.call(H.event_channel_op, EVTCHNOP.bind_virq, 0, 0)).toBe(1);
    expect(d.call(H.event_channel_op, EVTCHNOP.bind_virq, 0, 0)).toBe(-EEXIST);
    expect(d.call(H.event_channel_op, EVTCHNOP.bind_virq, 1, 3)).toBe(-ENOENT);
    expect(d.call(H.vcpu_op, VCPUOP.is_up, 1)).toBe(-ENOENT);
    expect(d.call(H.vcpu_op, VCPUOP.is_up, 0)).toBe(1);
  });

  test('pvkit_mmio_op on a domain without devices is -ENODEV', () => {
    const d = rig().domain(1);
    expect(d.call(H.pvkit_mmio_op, MMIOOP.read, 0, 0, 0, 4)).toBe(-ENODEV);
    expect(d.call(H.pvkit_mmio_op, MMIOOP.write, 3, 0x70, 1, 4)).toBe(-ENODEV);
  });
});

describe('multicall', () => {
  function entries(
    d: ReturnType<ReturnType<typeof rig>['domain']>,
    at: number,
    ops: [number, ...number[]][],
  ) {
    ops.forEach(([op, ...args], i) => {
      const e = at + i * MULTICALL_ENTRY_SIZE;
      d.dv.setUint32(e + MULTICALL_ENTRY.op, op, true);
      for (const [k, a] of args.entries())
        d.dv.setUint32(e + MULTICALL_ENTRY.args + 8 * k, a, true);
    });
  }
  const result = (d: ReturnType<ReturnType<typeof rig>['domain']>, at: number, i: number) =>
    d.dv.getInt32(at + i * MULTICALL_ENTRY_SIZE + MULTICALL_ENTRY.result, true);

  test('runs entries in order and writes each result; a nested multicall gets -EINVAL', () => {
    const d = rig().domain(1);
    entries(d, 0x10000, [
      [H.xen_version, XENVER.version],
      [H.multicall, 0x10000, 1],
      [H.event_channel_op, EVTCHNOP.bind_virq, 0, 0],
      [H.event_channel_op, EVTCHNOP.bind_virq, 0, 0],
      [40],
      [H.sched_op, SCHEDOP.block],
    ]);
    expect(d.call(H.multicall, 0x10000, 6)).toBe(0);
    expect(result(d, 0x10000, 0)).toBe(0x10000);
    expect(result(d, 0x10000, 1)).toBe(-EINVAL);
    expect(result(d, 0x10000, 2)).toBe(1);
    expect(result(d, 0x10000, 3)).toBe(-EEXIST);
    expect(result(d, 0x10000, 4)).toBe(-ENOSYS);
    expect(result(d, 0x10000, 5)).toBe(-EINVAL); // block waits in the vCPU: not in a batch
  });

  test('an empty multicall is fine', () => {
    expect(rig().domain(1).call(H.multicall, 0x10000, 0)).toBe(0);
  });
});

test('a bad domain does not stop the service from serving another', () => {
  const r = rig();
  const bad = r.domain(1);
  const good = r.domain(2);
  for (let i = 0; i < 100; i++) {
    expect(bad.call(H.console_io, CONSOLEIO.write, 8, 2 ** 40)).toBe(-EFAULT);
    expect(good.call(H.xen_version, XENVER.version)).toBe(0x10000);
  }
  // A mailbox in a state the ABI does not know crashes its own domain only.
  Atomics.store(bad.mailbox, MAILBOX.state, 7);
  expect(good.call(H.xen_version, XENVER.version)).toBe(0x10000);
  expect(r.posted).toContainEqual({
    t: 'crash',
    domid: 1,
    detail: 'vCPU 0 broke the ABI: mailbox state 7',
  });
  expect(r.svc.domain(1)).toBeUndefined();
  expect(good.call(H.xen_version, XENVER.version)).toBe(0x10000);
});

test('a control message the service cannot apply fails its domain only', () => {
  const r = rig();
  const good = r.domain(1);
  r.svc.controlSafely({
    t: 'create',
    setup: {
      domid: 2,
      name: 'd2',
      memory: new SharedArrayBuffer(1 << 20),
      mailboxes: [createMailbox()],
      counters: new SharedArrayBuffer(DOMAIN_COUNTERS_BYTES),
      reservedBytes: 0x3000,
      devices: [
        {
          type: 2,
          id: 0,
          evtchn: 1023,
          nrQueues: 2,
          config: {},
          control: new SharedArrayBuffer(1024),
          doorbells: new SharedArrayBuffer(256),
          doorbell: 0,
        },
      ],
    },
  });
  expect(r.posted).toEqual([
    { t: 'crash', domid: 2, detail: 'VMM error in create: device port 1024 is not free' },
  ]);
  expect(good.call(H.xen_version, XENVER.version)).toBe(0x10000);
});
