// Hostile traps: any call number, any arguments, any bytes in guest memory.
// The service must answer every one with an integer (a result or -errno),
// never throw, and never let one domain's garbage reach another.

import { HYPERVISOR, SCHEDOP } from '@pvkit/hypercall';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { rig } from './rig.ts';

const MB = 1 << 20;
const anyArg = fc.oneof(
  fc.integer({ min: -5, max: 64 }),
  fc.integer({ min: 0, max: MB + 4096 }),
  fc.constantFrom(0, 1, 0x10000, MB - 1, MB, 2 ** 31, 2 ** 32, 2 ** 52, -(2 ** 31), 0x7ff0),
);
const anyNr = fc.oneof(
  fc.constantFrom(...Object.values(HYPERVISOR)),
  fc.integer({ min: -3, max: 70 }),
);

test('random traps over random guest memory: always an integer answer, the neighbour unharmed', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(anyNr, fc.array(anyArg, { minLength: 6, maxLength: 6 })), {
        minLength: 1,
        maxLength: 30,
      }),
      fc.uint8Array({ minLength: 256, maxLength: 256 }),
      (calls, junk) => {
        const r = rig();
        const victim = r.domain(1);
        const hostile = r.domain(2);
        // Junk where structs are read from: multicall lists, port arrays, memory maps.
        for (const at of [0, 0x10000, 0x20000, MB - 256])
          new Uint8Array(hostile.memory).set(junk, at);
        for (const [nr, args] of calls) {
          if (nr === HYPERVISOR.sched_op && args[0] === SCHEDOP.shutdown) continue; // ends the domain
          if (r.svc.domain(2) === undefined) break;
          const res = hostile.call(nr, ...args);
          if (res !== null) expect(Number.isInteger(res)).toBe(true);
        }
        expect(r.posted.filter((m) => m.t === 'crash')).toEqual([]);
        expect(victim.call(HYPERVISOR.xen_version, 0)).toBe(0x10000);
      },
    ),
    { numRuns: 150 },
  );
});
