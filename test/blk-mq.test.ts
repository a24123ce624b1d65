// A multi-queue disk under concurrent apps: four queues, each served by its
// own backend worker, four apps writing and verifying their own regions at
// once. Every region lands intact and every queue carried requests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { QUEUE_COUNTER } from '../packages/virtio-ring/src/index.ts';
import { hostPattern, runGuest, useScratchDir, useVmm } from './support/blk-harness.ts';

const vmm = useVmm();
const dir = useScratchDir();
const MiB = 1 << 20;

test('4 queues, 4 concurrent apps: all data intact, every queue used', async () => {
  const path = join(dir.path, 'mq.img');
  const apps = [0, 1, 2, 3].map(
    (i) => `blkverify vda seed=${100 + i} size=1M offset=${2 * i}M bs=16k`,
  );
  const v = vmm();
  const { dom, exit, log } = await runGuest(
    v,
    'mq',
    [{ path, size: '8M', create: true, queues: 4 }],
    apps,
  );
  expect(exit, log.join('\n')).toEqual({ reason: 'poweroff', code: 0 });
  expect(log).toContain('virtio-blk: vda: 16384 sectors, 4 queue(s), serial "pvkit-0"');
  expect(log.filter((l) => / ok, 1048576 bytes/.test(l))).toHaveLength(4);
  const file = readFileSync(path);
  for (let i = 0; i < 4; i++)
    expect(
      file.subarray(2 * i * MiB, (2 * i + 1) * MiB).equals(hostPattern(100 + i, 2 * i * MiB, MiB)),
    ).toBe(true);
  const counters = dom.devices[0].counters;
  expect(counters?.nrQueues).toBe(4);
  for (let q = 0; q < 4; q++)
    expect(counters?.queueTotal(QUEUE_COUNTER.chains, q), `queue ${q}`).toBeGreaterThan(20);
});
