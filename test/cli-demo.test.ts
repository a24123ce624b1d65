// `pnpm demo` as a newcomer runs it: two guests with sparse temporary disks
// (and NICs once virtio-net is built), their results, the table per domain,
// and nothing left behind: not on success, not on Ctrl-C.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { cliTmp, pvkit, pvkitAsync, ROOT, until } from './support/cli.ts';

/** The net half runs once virtio-net is built into this tree. */
const NET = existsSync(join(ROOT, 'packages/vmm/src/devices/net.ts'));

const leftovers = (tmp: string) => readdirSync(tmp).filter((f) => f.startsWith('pvkit-'));

test('the demo verifies both disks, prints its table per domain, and removes its files', () => {
  const tmp = cliTmp();
  const r = pvkit(['demo'], { tmp, timeoutMs: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = r.stdout;
  expect(out).not.toContain('\x1b['); // not a terminal: plain lines
  expect(out).toContain('* alpha (domid 1): running');
  expect(out).toMatch(/^\[alpha\] blkverify: vda: ok, 67108864 bytes at 0 match seed 1$/m);
  expect(out).toMatch(/^\[beta\] blkverify: vda: ok, 33554432 bytes at 0 match seed 2$/m);
  expect(out).toMatch(/^== pvkit demo: 2 guests, [\d.]+ s$/m);
  expect(out).toMatch(
    /^domain +result +hypercalls +events +kicks +interrupts +blk MB +blk MB\/s +net pkts +net pkt\/s$/m,
  );
  for (const name of ['alpha', 'beta']) {
    const row = out.split('\n').find((l) => l.startsWith(`${name} `));
    const [, result, hypercalls, , kicks, interrupts, blkMB, blkMBs] = row?.split(/\s+/) ?? [];
    expect(result).toBe('ok');
    expect(Number(hypercalls)).toBeGreaterThan(0);
    expect(Number(kicks)).toBeGreaterThan(0);
    expect(Number(interrupts)).toBeGreaterThan(0);
    expect(Number(blkMB)).toBeGreaterThanOrEqual(name === 'alpha' ? 134 : 67); // written + read back
    expect(Number(blkMBs)).toBeGreaterThan(0);
  }
  // Calls in order of count; which one leads depends on the devices probed.
  expect(out).toMatch(/^hypercalls by call:\n {2}alpha: (?=.*\bsched_op \d+)[a-z_]+ \d+/m);
  const results = out.slice(out.indexOf('\nresults:\n'));
  expect(results).toMatch(/^ {2}\[alpha\] blkverify: vda: ok/m);
  expect(results).toMatch(/^ {2}\[beta\] blkverify: vda: ok/m);
  if (NET) {
    expect(results).toMatch(/^ {2}\[alpha\] 5 packets transmitted, [1-5] received/m);
    expect(results).toMatch(/^ {2}\[alpha\] netperf stream 10\.0\.0\.2:\d+ size 1472: sent \d+/m);
    expect(results).toMatch(/^ {2}\[beta\] netperf server: stream session \d+: received [1-9]\d*/m);
    for (const name of ['alpha', 'beta']) {
      const row =
        out
          .split('\n')
          .find((l) => l.startsWith(`${name} `))
          ?.split(/\s+/) ?? [];
      expect(Number(row[8])).toBeGreaterThan(0); // net packets
    }
  } else expect(out).toContain('demo: virtio-net is not in this build: the block half only');
  expect(leftovers(tmp)).toEqual([]); // images, their directory and the control socket: gone
});

test('Ctrl-C during the demo destroys the guests, removes the images and exits 130', async () => {
  const tmp = cliTmp();
  const demo = pvkitAsync(['demo'], { tmp });
  try {
    await until(
      () => /\* beta \(domid 2\): running/.test(demo.out()),
      30_000,
      'the guests to start',
    );
    const dir = /disk images in (\S+) /.exec(demo.out())?.[1] ?? '';
    const img = join(dir, 'alpha.img');
    expect(existsSync(img)).toBe(true);
    const st = statSync(img);
    expect(st.size).toBe(128 * 2 ** 20);
    expect(st.blocks * 512).toBeLessThan(st.size); // sparse: only what was written so far
    demo.child.kill('SIGINT');
    expect(await demo.exit).toBe(130);
    expect(demo.out()).toContain('* interrupted: destroying every domain');
    expect(existsSync(dir)).toBe(false);
    expect(leftovers(tmp)).toEqual([]);
  } finally {
    demo.child.kill('SIGKILL');
  }
}, 60_000);
