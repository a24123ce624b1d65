// A test guest: not the pvkit kernel but a bare vCPU entry that speaks the
// ABI with the stub alone, the way someone writing their own guest would.
// Its cmdline picks a script; results go to the console as "key value" lines.
import { workerData } from 'node:worker_threads';
import type { BootParams } from '../../packages/guest-kernel/src/index.ts';
import {
  CONSOLEIO,
  createHypercall,
  DEVICE_ENTRY,
  DEVICE_ENTRY_SIZE,
  DOMID_SELF,
  EVTCHN_STATUS,
  EVTCHNOP,
  HYPERVISOR,
  isEventPending,
  MAILBOX,
  MMIOOP,
  MULTICALL_ENTRY,
  readTimeInfo,
  SCHEDOP,
  SERVICE_DOORBELL,
  SHUTDOWN,
  START_INFO,
  START_INFO_MAGIC,
  schedPoll,
  systemTimeNs,
  VCPU_INFO,
  VIRQ,
  vcpuInfoWord,
  XENVER,
} from '../../packages/hypercall/src/index.ts';

const boot = workerData as BootParams;
const hc = createHypercall(boot.mailbox, boot.serviceDoorbell);
const words = new Int32Array(boot.memory);
const dv = new DataView(boot.memory);
const u8 = new Uint8Array(boot.memory);
const SCRATCH = 0x10000;
const OUT = 0x20000;
const H = HYPERVISOR;

function print(line: string): void {
  const { written } = new TextEncoder().encodeInto(`${line}\n`, u8.subarray(OUT, OUT + 4096));
  hc(H.console_io, CONSOLEIO.write, written, OUT);
}
const si = (off: number) => dv.getUint32(boot.startInfo + off, true);
const cmdline = new TextDecoder()
  .decode(u8.slice(boot.startInfo + START_INFO.cmd_line, boot.startInfo + START_INFO.cmd_line + 64))
  .replace(/\0.*$/s, '');
const vcpu = (f: number) => Atomics.load(words, vcpuInfoWord(0, f));

function spinForever(): never {
  let n = 0;
  for (;;) n = (n + 1) | 0;
}

const scripts: Record<string, () => void> = {
  'bad-calls'() {
    const r = (label: string, v: number) => print(`errno ${label} ${v}`);
    r('unknown-call', hc(40));
    r('huge-call', hc(1 << 30));
    r('console-outside', hc(H.console_io, CONSOLEIO.write, 64, boot.memory.byteLength - 16));
    r('console-bad-subop', hc(H.console_io, 9, 1, OUT));
    r('send-bad-port', hc(H.event_channel_op, EVTCHNOP.send, 4096));
    r('send-free-port', hc(H.event_channel_op, EVTCHNOP.send, 77));
    r('evtchn-bad-subop', hc(H.event_channel_op, 42));
    r('status-outside', hc(H.event_channel_op, EVTCHNOP.status, DOMID_SELF, 1, 2 ** 40));
    dv.setUint32(SCRATCH + MULTICALL_ENTRY.op, H.multicall, true);
    r('nested-multicall', hc(H.multicall, SCRATCH, 1));
    r('nested-multicall-entry', dv.getInt32(SCRATCH + MULTICALL_ENTRY.result, true));
    r('multicall-outside', hc(H.multicall, boot.memory.byteLength - 32, 1));
    r('still-alive', hc(H.xen_version, XENVER.version));
  },
  'masked-event'() {
    const port = hc(H.event_channel_op, EVTCHNOP.bind_ipi, 0);
    print(`port ${port}`);
    hc(H.event_channel_op, EVTCHNOP.send, port);
    print(`pending-while-masked ${isEventPending(words, port) ? 1 : 0}`);
    print(`upcall-while-masked ${vcpu(VCPU_INFO.evtchn_upcall_pending)}`);
    hc(H.event_channel_op, EVTCHNOP.unmask, port);
    print(`upcall-after-unmask ${vcpu(VCPU_INFO.evtchn_upcall_pending)}`);
    print(`selector-after-unmask ${vcpu(VCPU_INFO.evtchn_pending_sel)}`);
  },
  devices() {
    print(`magic-ok ${si(START_INFO.magic) === START_INFO_MAGIC ? 1 : 0}`);
    const n = si(START_INFO.nr_devices);
    print(`devices ${n}`);
    for (let i = 0; i < n; i++) {
      const e = (f: number) => si(START_INFO.devices + i * DEVICE_ENTRY_SIZE + f);
      print(
        `device ${i} type ${e(DEVICE_ENTRY.type)} queues ${e(DEVICE_ENTRY.nr_queues)} evtchn ${e(DEVICE_ENTRY.evtchn)} doorbell ${e(DEVICE_ENTRY.doorbell)}`,
      );
      hc(H.event_channel_op, EVTCHNOP.status, DOMID_SELF, e(DEVICE_ENTRY.evtchn), SCRATCH);
      print(`status ${i} ${dv.getUint32(SCRATCH + EVTCHN_STATUS.status, true)}`);
    }
    print(`mmio-read-0 ${hc(H.pvkit_mmio_op, MMIOOP.read, 0, 0, 0, 4)}`);
    print(`mmio-read-9 ${hc(H.pvkit_mmio_op, MMIOOP.read, 9, 0, 0, 4)}`);
    print(`mmio-narrow ${hc(H.pvkit_mmio_op, MMIOOP.read, 0, 0, 0, 2)}`);
    print(`doorbells ${boot.deviceDoorbells ? boot.deviceDoorbells.byteLength : 0}`);
  },
  /** Wait for console input with sched_op(poll) on VIRQ_CONSOLE, first with nothing to read. */
  'console-poll'() {
    const port = hc(H.event_channel_op, EVTCHNOP.bind_virq, VIRQ.console, 0);
    dv.setUint32(SCRATCH, port, true);
    const clock = readTimeInfo(boot.memory, vcpuInfoWord(0, VCPU_INFO.time) << 2);
    const t0 = systemTimeNs(clock);
    const r = schedPoll(hc, words, [port], SCRATCH, t0 + 100e6, () => systemTimeNs(clock));
    print(
      `poll-timeout ${r} after-ms ${Math.floor((systemTimeNs(clock) - t0) / 1e6)} pending ${isEventPending(words, port) ? 1 : 0}`,
    );
    print('ready');
    schedPoll(hc, words, [port], SCRATCH, 0, () => systemTimeNs(clock));
    const n = hc(H.console_io, CONSOLEIO.read, 64, SCRATCH + 64);
    print(`read ${new TextDecoder().decode(u8.slice(SCRATCH + 64, SCRATCH + 64 + n))}`);
    print(`read-again ${hc(H.console_io, CONSOLEIO.read, 64, SCRATCH + 64)}`);
  },
  throw() {
    print('about to throw');
    throw new Error('guest exploded on purpose');
  },
  'garbage-mailbox'() {
    print('scribbling on the mailbox');
    Atomics.store(new Int32Array(boot.mailbox), MAILBOX.state, 9);
    const db = new Int32Array(boot.serviceDoorbell); // and asks the VMM to look
    Atomics.add(db, SERVICE_DOORBELL.seq, 1);
    Atomics.notify(db, SERVICE_DOORBELL.seq);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // the VMM ends this domain
  },
  busy() {
    print('busy');
    for (;;) hc(H.xen_version, XENVER.version);
  },
  /** More console lines than an ended domain keeps. */
  chatty() {
    for (let i = 0; i < 1500; i++) print(`line ${i}`);
  },
  /** A hung guest: never traps again. */
  spin() {
    print('spinning');
    spinForever();
  },
  /** Arm a sched_op watchdog (1 s), re-arm it once, then hang: the watchdog must fire. */
  'watchdog-spin'() {
    const id = hc(H.sched_op, SCHEDOP.watchdog, 0, 1);
    print(`watchdog ${id}`);
    print(`rearm ${hc(H.sched_op, SCHEDOP.watchdog, id, 1)}`);
    spinForever();
  },
};

const script = scripts[cmdline];
if (!script) throw new Error(`probe guest: no script "${cmdline}"`);
script();
hc(H.sched_op, SCHEDOP.shutdown, SHUTDOWN.poweroff, 0);
