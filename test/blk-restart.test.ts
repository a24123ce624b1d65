// A disk whose backend died comes back (issue 7): the requests in flight
// fail (the app sees the error), Vmm.restartDevice starts a fresh backend on
// the same image, the guest's driver resets the device and re-probes it,
// and what was written and flushed before the crash reads back intact.
// Workers and file descriptors are back to the baseline after destroy.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { DeviceRestartError, type DomainConfig } from '../packages/vmm/src/index.ts';
import { hostPattern, lineOf, useScratchDir, useVmm, within } from './support/blk-harness.ts';

const vmm = useVmm();
const dir = useScratchDir();

function domain(name: string, apps: string[]): DomainConfig {
  return {
    name,
    memory: 16 << 20,
    vcpus: 1,
    cmdline: '',
    apps,
    disks: [{ path: `${name}.img`, size: '4M', create: true }],
    nics: [],
    baseDir: dir.path,
  };
}

function openFiles(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}

const indexOf = (log: string[], re: RegExp) => log.findLastIndex((l) => re.test(l));

test('kill the backend mid-I/O, restart it: the guest re-probes, flushed data is intact', async () => {
  const v = vmm();
  const image = join(dir.path, 'rs.img');
  const [dom] = await v.createDomains([
    domain('rs', [
      // Acknowledged (written and flushed), then reads until the backend dies.
      'seq blkverify vda size=1M seed=7 ; blkbench vda rand read bs=4k qd=4 time=20',
      // Starts after the crash: waits for the device, then checks and writes more.
      'seq sleep 4 ; blkverify vda check size=1M seed=7 ; blkverify vda size=1M offset=1M seed=9',
    ]),
  ]);
  v.start(dom);
  await lineOf(dom, /^blkverify: vda: ok, 1048576 bytes at 0/);
  await new Promise((r) => setTimeout(r, 100)); // blkbench's reads are flowing
  await dom.devices[0].workers?.[0].terminate();
  await lineOf(dom, /^blkbench: read at \d+ failed: device-broken/);
  expect(v.workerCount()).toBe(2); // the service and the vCPU: the backend is gone
  await within(v.restartDevice(dom, 'vda'), 10_000, 'restartDevice');
  expect(v.workerCount()).toBe(3);
  const exit = await within(dom.exited, 20_000, 'the guest after the restart');
  const log = dom.consoleLog;
  expect(exit, dom.consoleText()).toEqual({ reason: 'poweroff', code: 1 }); // app 0 saw the error
  expect(log).toContain(
    'app 1 (seq sleep 4 ; blkverify vda check size=1M seed=7 ; blkverify vda size=1M offset=1M seed=9) exited with 0',
  );
  // The kernel logged the reset and the re-probe, after the restart and before app 1's I/O.
  const restarted = indexOf(log, /^vmm: vda: backend restarted/);
  const reprobed = indexOf(log, /^virtio-blk: vda: re-probed after a reset \(recovery 1\)/);
  const checked = indexOf(log, /^blkverify: vda: ok, 1048576 bytes at 0 match seed 7/);
  expect(
    indexOf(log, /^virtio-blk: vda: the device needs a reset.*; resetting the device/),
  ).toBeGreaterThan(0);
  // Before the restart the re-probe found the backend still gone, and waited.
  const waited = log.findIndex((l) =>
    /^virtio-blk: vda: re-probe failed \(device-needs-reset/.test(l),
  );
  expect(waited).toBeGreaterThan(0);
  expect(restarted).toBeGreaterThan(waited);
  expect(reprobed).toBeGreaterThan(restarted);
  expect(checked).toBeGreaterThan(reprobed);
  // On the host: both patterns are on disk.
  const bytes = readFileSync(image);
  expect(bytes.subarray(0, 1 << 20).equals(hostPattern(7, 0, 1 << 20))).toBe(true);
  expect(bytes.subarray(1 << 20, 2 << 20).equals(hostPattern(9, 1 << 20, 1 << 20))).toBe(true);
  expect(v.workerCount()).toBe(1); // the service only
  expect(openFiles()).not.toContain(image);
}, 60_000);

test('restart twice: a live backend, then one dead queue of two; the app never notices but waits', async () => {
  const v = vmm();
  const image = join(dir.path, 'tw.img');
  const [dom] = await v.createDomains([
    {
      ...domain('tw', [
        'seq blkio vda write=0,256k,3 flush ; sleep 3 ; blkio vda check=0,256k,3 write=256k,256k,4 flush check=256k,256k,4',
      ]),
      disks: [{ path: 'tw.img', size: '4M', create: true, queues: 2 }],
    },
  ]);
  v.start(dom);
  await lineOf(dom, /^blkio: step 1 flush: ok/);
  await within(v.restartDevice(dom, 'vda'), 10_000, 'first restart (live backend)');
  await lineOf(dom, /^virtio-blk: vda: re-probed after a reset \(recovery 1\)/);
  expect(v.workerCount()).toBe(4); // service, vCPU, a worker per queue
  await dom.devices[0].workers?.[1].terminate(); // queue 1 dies; queue 0's worker lives on
  await lineOf(dom, /^vmm: vda queue 1 backend exited/);
  // Two restarts at once are run one after the other.
  await within(
    Promise.all([v.restartDevice(dom, 'vda'), v.restartDevice(dom, 0)]),
    15_000,
    'second and third restart',
  );
  expect(await within(dom.exited, 20_000, 'exit'), dom.consoleText()).toEqual({
    reason: 'poweroff',
    code: 0,
  });
  expect(dom.consoleLog.filter((l) => /^vmm: vda: backend restarted/.test(l))).toHaveLength(3);
  expect(dom.consoleLog).toContain('virtio-blk: vda: 8192 sectors, 2 queue(s), serial "pvkit-0"');
  expect(indexOf(dom.consoleLog, /^blkio: step 3 check=256k,256k,4: ok/)).toBeGreaterThan(0);
  expect(
    readFileSync(image)
      .subarray(0, 256 << 10)
      .equals(hostPattern(3, 0, 256 << 10)),
  ).toBe(true);
  expect(v.workerCount()).toBe(1);
  expect(openFiles()).not.toContain(image);
}, 60_000);

test('restarting a device of an ended domain, or one that does not exist: a clear error', async () => {
  const v = vmm();
  const [dom] = await v.createDomains([domain('gone', ['blkio vda info'])]);
  v.start(dom);
  await within(dom.exited, 15_000, 'exit');
  await expect(v.restartDevice(dom, 'vda')).rejects.toThrow(
    /^gone: the domain has ended \(shutdown\); cannot restart vda$/,
  );
  await expect(v.restartDevice(dom.domid, 'vda')).rejects.toBeInstanceOf(DeviceRestartError);
  await expect(v.restartDevice(999, 'vda')).rejects.toThrow(/no domain 999/);
  const [live] = await v.createDomains([domain('live', ['sleep 5'])]);
  await expect(v.restartDevice(live, 'vdz')).rejects.toThrow(
    /^live: no device "vdz" \(devices: vda\)$/,
  );
  expect(v.workerCount()).toBe(2); // service + live's backend; nothing started by the failures
});

test('a device never restarted: requests submitted while it is down wait, then fail clearly', async () => {
  const v = vmm();
  const [dom] = await v.createDomains([
    {
      ...domain('down', ['seq blkio vda write=0,64k,1 flush ; sleep 1 ; blkio vda !check=0,64k,1']),
      cmdline: 'blk.downwait=300',
    },
  ]);
  v.start(dom);
  await lineOf(dom, /^blkio: step 1 flush: ok/);
  await dom.devices[0].workers?.[0].terminate();
  expect(await within(dom.exited, 15_000, 'exit'), dom.consoleText()).toEqual({
    reason: 'poweroff',
    code: 0,
  });
  expect(
    dom.consoleLog.some((l) =>
      /^blkio: step 0 !check=0,64k,1: failed as expected: device-broken: vda has been down for 300 ms/.test(
        l,
      ),
    ),
  ).toBe(true);
  expect(v.workerCount()).toBe(1);
});

test('"restart": "on-failure:1": the first death is restarted by the VMM, the second is not', async () => {
  const v = vmm();
  const [dom] = await v.createDomains([
    {
      ...domain('auto', [
        'seq blkio vda write=0,64k,5 flush ; sleep 3 ; blkio vda check=0,64k,5 ; sleep 3 ; blkio vda !check=0,64k,5',
      ]),
      disks: [{ path: 'auto.img', size: '4M', create: true, restart: 'on-failure:1' }],
      cmdline: 'blk.downwait=1500',
    },
  ]);
  v.start(dom);
  await lineOf(dom, /^blkio: step 1 flush: ok/);
  await dom.devices[0].workers?.[0].terminate();
  await lineOf(dom, /^virtio-blk: vda: re-probed after a reset \(recovery 1\)/);
  await lineOf(dom, /^blkio: step 0 check=0,64k,5: ok/).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${dom.consoleText()}`);
  });
  await dom.devices[0].workers?.[0].terminate();
  expect(await within(dom.exited, 15_000, 'exit'), dom.consoleText()).toEqual({
    reason: 'poweroff',
    code: 0,
  });
  const log = dom.consoleLog;
  expect(log).toContain('vmm: vda: restarting the backend (restart: on-failure, 1 of 1)');
  expect(log).toContain('vmm: vda: backend died again; not restarting it (restart limit 1)');
  expect(
    log.some((l) => /^blkio: step 0 !check=0,64k,5: failed as expected: device-broken/.test(l)),
  ).toBe(true);
  expect(v.workerCount()).toBe(1);
});
