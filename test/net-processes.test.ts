// Two pvkit processes, each one `pvkit run` with one guest, joined by a
// dgram wire (as two QEMU processes would be with -netdev dgram): the
// guests ping each other across the two VMMs.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { within } from './lib/harness.ts';

const root = new URL('..', import.meta.url).pathname;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Two free UDP ports on 127.0.0.1 (bound, read, released: the kernel will not reuse them at once). */
async function freePorts(): Promise<[number, number]> {
  const socks = [createSocket('udp4'), createSocket('udp4')];
  const ports = await Promise.all(
    socks.map((s) => new Promise<number>((r) => s.bind(0, '127.0.0.1', () => r(s.address().port)))),
  );
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return [ports[0], ports[1]];
}

function pvkitRun(config: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'packages/vmm/src/cli/main.ts', 'run', config],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const done = new Promise<{ code: number | null; out: string }>((r) =>
    child.on('exit', (code) => r({ code, out })),
  );
  return within(done, 60_000, `pvkit run ${config}`).catch((e) => {
    child.kill('SIGKILL');
    throw new Error(`${String(e)}\n${out}`);
  });
}

test('two pvkit processes on one dgram wire ping each other', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvkit-net-'));
  dirs.push(dir);
  const [pa, pb] = await freePorts();
  const guest = (name: string, ip: string, peer: string, local: number, remote: number) => ({
    name,
    memory: '16M',
    nics: [{ backend: 'dgram', local: `127.0.0.1:${local}`, remote: `127.0.0.1:${remote}`, ip }],
    // Wait for the other process to be up before pinging; stay up for its pings.
    apps: [`ping ${peer} 4 250`, 'idle 2.5'],
  });
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  writeFileSync(a, JSON.stringify(guest('left', '10.7.0.1/24', '10.7.0.2', pa, pb)));
  writeFileSync(b, JSON.stringify(guest('right', '10.7.0.2/24', '10.7.0.1', pb, pa)));
  const [ra, rb] = await Promise.all([pvkitRun(a), pvkitRun(b)]);
  for (const [r, peer] of [
    [ra, '10.7.0.2'],
    [rb, '10.7.0.1'],
  ] as const) {
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(
      new RegExp(`bytes from ${peer.replace(/\./g, '\\.')}: icmp_seq=\\d+ ttl=64`),
    );
    // The first ping may go out before the other process is up; the later ones arrive.
    expect(r.out).toMatch(/4 packets transmitted, [234] received/);
    expect(r.out).toMatch(/vmm: eth0 queue 0: dgram 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+/);
  }
});
