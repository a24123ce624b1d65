// virtio-blk end to end: a real guest kernel in its vCPU worker, the blk
// backend in its own workers, a real file. What the guest writes is in the
// file; what the host wrote, the guest reads; DISCARD and WRITE_ZEROES read
// back as zeros; read-only and out-of-range requests are refused.
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { HYPERVISOR } from '../packages/hypercall/src/index.ts';
import { hostPattern, runGuest, useScratchDir, useVmm } from './support/blk-harness.ts';

const vmm = useVmm();
const dir = useScratchDir();

const KiB = 1024;
const MiB = 1024 * 1024;

/** A file of `size` bytes holding the blkverify pattern of `seed` everywhere. */
function patternedImage(name: string, size: number, seed: number): string {
  const path = join(dir.path, name);
  writeFileSync(path, hostPattern(seed, 0, size));
  return path;
}

describe('data moves between the guest and the file', () => {
  test('the guest writes, the host reads the file and finds exactly that', async () => {
    const { exit, log } = await runGuest(
      vmm(),
      'writer',
      [{ path: join(dir.path, 'w.img'), size: '4M', create: true }],
      ['blkverify vda seed=5 size=1M offset=64k bs=96k'],
    );
    expect(exit, log.join('\n')).toEqual({ reason: 'poweroff', code: 0 });
    const file = readFileSync(join(dir.path, 'w.img'));
    expect(file.length).toBe(4 * MiB);
    expect(file.subarray(64 * KiB, 64 * KiB + MiB).equals(hostPattern(5, 64 * KiB, MiB))).toBe(
      true,
    );
    // Nothing outside the range was touched (a fresh sparse image reads as zeros).
    expect(file.subarray(0, 64 * KiB).every((b) => b === 0)).toBe(true);
    expect(file.subarray(64 * KiB + MiB).every((b) => b === 0)).toBe(true);
  });

  test('the host writes, the guest reads it; a wrong expectation is caught', async () => {
    const path = join(dir.path, 'r.img');
    writeFileSync(path, Buffer.alloc(2 * MiB));
    const fd = openSync(path, 'r+');
    writeSync(fd, hostPattern(9, 512 * KiB, 256 * KiB), 0, 256 * KiB, 512 * KiB);
    closeSync(fd);
    const ok = await runGuest(
      vmm(),
      'reader',
      [{ path, readonly: true }],
      ['blkverify vda check seed=9 size=256k offset=512k bs=32k'],
    );
    expect(ok.exit, ok.log.join('\n')).toEqual({ reason: 'poweroff', code: 0 });
    expect(ok.log.some((l) => l.includes('ok, 262144 bytes at 524288 match seed 9'))).toBe(true);
    const bad = await runGuest(
      vmm(),
      'reader2',
      [{ path, readonly: true }],
      ['blkverify vda check seed=10 size=256k offset=512k'],
    );
    expect(bad.exit.code).toBe(1);
    expect(bad.log.some((l) => l.includes('MISMATCH at byte 524288'))).toBe(true);
  });

  test('DISCARD and WRITE_ZEROES read back as zeros, in the guest and in the file', async () => {
    const path = patternedImage('z.img', MiB, 3);
    const { exit, log } = await runGuest(
      vmm(),
      'zeroes',
      [{ path }],
      [
        'blkio vda check=0,192k,3 discard=0,64k zero=0,64k zeroes=64k,64k zero=64k,64k check=128k,64k,3 flush',
      ],
    );
    expect(exit, log.join('\n')).toEqual({ reason: 'poweroff', code: 0 });
    const file = readFileSync(path);
    expect(file.subarray(0, 128 * KiB).every((b) => b === 0)).toBe(true);
    expect(file.subarray(128 * KiB).equals(hostPattern(3, 128 * KiB, MiB - 128 * KiB))).toBe(true);
  });

  test('GET_ID returns the configured serial; counters see the traffic', async () => {
    const { dom, exit, log } = await runGuest(
      vmm(),
      'serial',
      [{ path: ':memory:', size: '1M', serial: 'my-disk-42' }],
      ['blkio vda info write=0,128k,1 check=0,128k,1'],
    );
    expect(exit, log.join('\n')).toEqual({ reason: 'poweroff', code: 0 });
    expect(log).toContain('blkio: vda: 1048576 bytes, serial "my-disk-42", read-write');
    const [dev] = dom.stats().devices;
    expect(dev.name).toBe('vda');
    // GET_ID, one 128k write (split at 1 MiB size_max: one request), one 128k read.
    expect(dev.chains).toBeGreaterThanOrEqual(3);
    expect(dev.bytes).toBeGreaterThanOrEqual(128 * KiB);
  });
});

describe('requests the disk must refuse', () => {
  test('a read-only disk refuses writes, discards and zeroing; its file is unchanged', async () => {
    const path = patternedImage('ro.img', 256 * KiB, 4);
    const before = readFileSync(path);
    const { exit, log } = await runGuest(
      vmm(),
      'ro',
      [{ path, readonly: true }],
      ['blkio vda info !write=0,4k,1 !discard=0,4k !zeroes=0,4k check=0,256k,4'],
    );
    expect(exit, log.join('\n')).toEqual({ reason: 'poweroff', code: 0 });
    expect(log).toContain('blkio: vda: 262144 bytes, serial "pvkit-0", read-only');
    expect(log.filter((l) => l.includes('failed as expected: read-only'))).toHaveLength(3);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  test('requests past the end of the disk fail and touch nothing', async () => {
    const path = patternedImage('cap.img', 512 * KiB, 6);
    const { exit, log } = await runGuest(
      vmm(),
      'cap',
      [{ path }],
      ['blkio vda !check=512k,4k,6 !write=508k,8k,1 !zeroes=511k,2k check=0,512k,6'],
    );
    expect(exit, log.join('\n')).toEqual({ reason: 'poweroff', code: 0 });
    expect(log.filter((l) => l.includes('failed as expected: out-of-range'))).toHaveLength(3);
    expect(readFileSync(path).equals(hostPattern(6, 0, 512 * KiB))).toBe(true);
  });
});

test('"notify": "hypercall" moves the same data, each kick a QueueNotify trap', async () => {
  const apps = ['blkverify vda seed=8 size=512k bs=16k'];
  const door = await runGuest(vmm(), 'door', [{ path: ':memory:', size: '1M' }], apps);
  const trap = await runGuest(
    vmm(),
    'trap',
    [{ path: ':memory:', size: '1M', notify: 'hypercall' }],
    apps,
  );
  for (const r of [door, trap])
    expect(r.exit, r.log.join('\n')).toEqual({ reason: 'poweroff', code: 0 });
  const mmio = (r: typeof door) =>
    r.dom.stats().calls.find((c) => c.nr === HYPERVISOR.pvkit_mmio_op)?.count ?? 0;
  const kicks = trap.dom.stats().devices[0].kicks;
  expect(kicks).toBeGreaterThan(10);
  // Probe costs the same in both; the difference is the kicks (the model's own rings aside).
  expect(mmio(trap) - mmio(door)).toBeGreaterThanOrEqual(kicks - 8);
});

test.each([
  ['wait', 0],
  ['poll', 0],
  ['block', 1],
] as const)('idle=%s moves the same data (traps to block: %i)', async (mode, traps) => {
  const { dom, exit, log } = await runGuest(
    vmm(),
    `idle-${mode}`,
    [{ path: ':memory:', size: '2M' }],
    ['blkverify vda seed=12 size=1M bs=32k'],
    { cmdline: `idle=${mode}` },
  );
  expect(exit, log.join('\n')).toEqual({ reason: 'poweroff', code: 0 });
  expect(log.some((l) => l.startsWith('idle='))).toBe(false); // the mode was understood
  // Waiting for a disk costs a sched_op(block) trap only with idle=block.
  expect(dom.stats().blocks > 0 ? 1 : 0).toBe(traps);
});

test('blkbench at queue depth 32 (delayed interrupts) completes every request it submits', async () => {
  const { exit, log } = await runGuest(
    vmm(),
    'qd32',
    [{ path: ':memory:', size: '16M', queues: 2 }],
    ['blkbench vda rand read bs=4k qd=32 size=8M', 'blkbench vda seq write bs=64k qd=24 size=8M'],
  );
  expect(exit, log.join('\n')).toEqual({ reason: 'poweroff', code: 0 });
  const results = log
    .filter((l) => l.startsWith('blkbench-json '))
    .map((l) => JSON.parse(l.slice('blkbench-json '.length)) as { rw: string; ios: number });
  expect(results.map((r) => [r.rw, r.ios]).sort()).toEqual([
    ['read', 2048],
    ['write', 128],
  ]);
});
