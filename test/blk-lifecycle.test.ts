// Disk configuration mistakes are one clear error at domain creation, before
// any worker starts (and nothing is left behind); a domain's backend workers
// and image file descriptors are gone once it is destroyed.
import { existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, type DomainConfig, parseConfig } from '../packages/vmm/src/index.ts';
import { lineOf, useScratchDir, useVmm, within } from './support/blk-harness.ts';
import { pvkit } from './support/cli.ts';

const vmm = useVmm();
const dir = useScratchDir();

function domain(disks: Record<string, unknown>[], apps = ['hello']): DomainConfig {
  return {
    name: 'cfg',
    memory: 16 << 20,
    vcpus: 1,
    cmdline: '',
    apps,
    disks,
    nics: [],
    baseDir: dir.path,
  };
}

async function creationError(disks: Record<string, unknown>[]): Promise<string> {
  const v = vmm();
  const err = await v.createDomains([domain(disks)]).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  expect(v.workerCount()).toBe(0); // not even the hypervisor service started
  expect(v.domains).toEqual([]);
  return (err as Error).message;
}

describe('bad disk config: one clear error at creation, no worker started', () => {
  test('a missing file', async () => {
    expect(await creationError([{ path: 'nope.img' }])).toMatch(
      /^cfg: disks\[0\]\.path: .*nope\.img does not exist; expected an existing image file, or "create": true/,
    );
  });

  test('a size that does not match the existing file', async () => {
    writeFileSync(join(dir.path, 'small.img'), Buffer.alloc(4096));
    expect(await creationError([{ path: 'small.img', size: '1M' }])).toMatch(
      /disks\[0\]\.size: 1048576 bytes does not match the existing .*small\.img \(4096 bytes\)/,
    );
  });

  test('a path that cannot be created; a disk created before it is removed again', async () => {
    const msg = await creationError([
      { path: 'first.img', size: '1M', create: true },
      { path: 'no/such/dir/d.img', size: '1M', create: true },
    ]);
    expect(msg).toMatch(/disks\[1\]\.path: cannot create .*d\.img: .*is not an existing directory/);
    expect(existsSync(join(dir.path, 'first.img'))).toBe(false);
  });

  test('bad syntax is caught by config parsing, naming the key', () => {
    const bad = (disk: Record<string, unknown>) => () =>
      parseConfig({ name: 'x', disks: [{ path: 'd.img', ...disk }] });
    expect(bad({ size: '12x' })).toThrow(
      /^domain\.disks\[0\]: size: "12x" is not a size; expected/,
    );
    expect(bad({ size: '1000' })).toThrow(/size: "1000" \(1000 bytes\) is not a multiple of 512/);
    expect(bad({ queues: 0 })).toThrow(/queues: 0 is not a queue count/);
    expect(bad({ notify: 'irq' })).toThrow(/notify: "irq" is not a notify mode/);
    expect(bad({ sise: '1M' })).toThrow(/sise: is not a disk option/);
  });

  test('the CLI reports it as a config error (exit code 2), one line', () => {
    const cfg = join(dir.path, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ name: 'clibad', disks: [{ path: 'missing.img' }] }));
    const r = pvkit(['run', cfg]);
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('missing.img does not exist');
  });
});

/** Paths this process holds open (its fds, the workers' included). */
function openFiles(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

test('destroying a domain stops its backend workers and closes its image', async () => {
  const v = vmm();
  const image = join(dir.path, 'life.img');
  const [dom] = await v.createDomains([
    domain([{ path: 'life.img', size: '1M', create: true, queues: 3 }], ['sleep 30']),
  ]);
  v.start(dom);
  await lineOf(dom, /^app 0|^devices: vda .* up/);
  // service + vCPU + one backend per queue
  expect(v.workerCount()).toBe(5);
  expect(openFiles().filter((p) => p === image)).toHaveLength(3);
  await within(v.destroy(dom), 10_000, 'destroy');
  expect(v.workerCount()).toBe(1); // the service stays for other domains
  expect(openFiles()).not.toContain(image);
});

test('a backend that dies fails the requests in flight: the app gets an error, no hang', async () => {
  const v = vmm();
  const [dom] = await v.createDomains([
    domain([{ path: ':memory:', size: '4M' }], ['blkbench vda rand read bs=4k qd=4 time=20']),
  ]);
  v.start(dom);
  await lineOf(dom, /^devices: vda .* up/);
  await new Promise((r) => setTimeout(r, 100)); // requests are flowing
  await dom.devices[0].workers?.[0].terminate();
  const exit = await within(
    dom.exited,
    15_000,
    // Read at the timeout: what the guest and the VMM had said by then.
    () => `the guest after its backend died (console: ${dom.consoleLog.slice(-12).join(' | ')})`,
  );
  expect(exit).toEqual({ reason: 'poweroff', code: 1 });
  expect(dom.consoleLog.some((l) => /blkbench: read at \d+ failed: device-broken/.test(l))).toBe(
    true,
  );
  expect(dom.consoleLog.some((l) => /^vmm: vda queue 0 backend exited/.test(l))).toBe(true);
});
