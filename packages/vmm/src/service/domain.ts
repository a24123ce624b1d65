// One domain as the hypervisor service holds it: views of its guest memory
// and mailboxes, its event channel table, its timer, console line buffer and
// counters. Guest memory is hostile: every read from it is bounds-checked
// here, and a bad range is -EFAULT, never an exception.
import {
  CALL_COUNTER,
  CALL_COUNTER_BASE,
  CALL_COUNTER_STRIDE,
  DOMAIN_COUNTER,
  ERRNO,
  hostClockMs,
  NR_VIRQS,
  PAGE_SHIFT,
  PORT_COUNTER_BASE,
  PORT_COUNTER_STRIDE,
} from '@pvkit/hypercall';
import { Watchdogs } from './calls/watchdog.ts';
import { EventChannelTable } from './evtchn-table.ts';
import type { DomainSetup, ServiceDeviceSetup } from './protocol.ts';

/** Longest console line kept whole; longer output is split, never cut. */
const MAX_CONSOLE_LINE = 4096;

export class ServiceDomain {
  declare readonly domid: number;
  declare readonly name: string;
  declare readonly bytes: number;
  declare readonly nrPages: number;
  declare readonly reservedBytes: number;
  /** Views of guest memory. */
  declare readonly words: Int32Array;
  declare readonly u8: Uint8Array;
  declare readonly dv: DataView;
  declare readonly memory: SharedArrayBuffer;
  declare readonly mailboxes: Int32Array[];
  declare readonly counters: Float64Array;
  readonly ports = new EventChannelTable();
  /** Port bound to each VIRQ, 0 if none. */
  readonly virqPorts = new Int32Array(NR_VIRQS);
  declare readonly devices: ServiceDeviceSetup[];
  /** Timer deadline, host clock ms; 0 when not armed. */
  timerMs = 0;
  /** sched_op(watchdog) timers. */
  readonly watchdogs = new Watchdogs();
  paused = false;
  /** Host ms when the toolstack paused the domain. */
  pausedAtMs = 0;
  /** Shut down or crashed: no more answers, no more timers. */
  dead = false;
  inMulticall = false;
  /** Bytes the toolstack typed for console_io(read). */
  consoleIn: Uint8Array[] = [];
  private readonly decoder = new TextDecoder('utf-8');
  private partial = '';
  declare private readonly emitLine: (line: string) => void;

  constructor(setup: DomainSetup, emitLine: (line: string) => void) {
    this.domid = setup.domid;
    this.name = setup.name;
    this.memory = setup.memory;
    this.bytes = setup.memory.byteLength;
    this.nrPages = this.bytes >>> PAGE_SHIFT;
    this.reservedBytes = setup.reservedBytes;
    this.words = new Int32Array(setup.memory);
    this.u8 = new Uint8Array(setup.memory);
    this.dv = new DataView(setup.memory);
    this.mailboxes = setup.mailboxes.map((m) => new Int32Array(m));
    this.counters = new Float64Array(setup.counters);
    this.devices = setup.devices;
    this.emitLine = emitLine;
    for (const dev of setup.devices)
      for (let q = 0; q < dev.nrQueues; q++) this.ports.bindDevice(dev.evtchn + q);
  }

  get nrVcpus(): number {
    return this.mailboxes.length;
  }

  /** Is [gpa, gpa + len) inside guest memory? Arguments come from the guest: any number. */
  inRange(gpa: number, len: number): boolean {
    return (
      Number.isSafeInteger(gpa) &&
      Number.isSafeInteger(len) &&
      gpa >= 0 &&
      len >= 0 &&
      gpa + len <= this.bytes
    );
  }

  /** A private copy of guest bytes (the guest can't change what we parse), or -EFAULT. */
  copyIn(gpa: number, len: number): Uint8Array | number {
    if (!this.inRange(gpa, len)) return -ERRNO.EFAULT;
    return this.u8.slice(gpa, gpa + len);
  }

  /** Console output: split into lines, each handed to the toolstack whole. */
  consoleWrite(bytes: Uint8Array): void {
    this.counters[DOMAIN_COUNTER.console_bytes] += bytes.length;
    let text = this.partial + this.decoder.decode(bytes, { stream: true });
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      this.emitChunks(text.slice(0, nl));
      text = text.slice(nl + 1);
      nl = text.indexOf('\n');
    }
    while (text.length > MAX_CONSOLE_LINE) {
      this.emitLine(text.slice(0, MAX_CONSOLE_LINE));
      text = text.slice(MAX_CONSOLE_LINE);
    }
    this.partial = text;
  }

  /** The rest of a line without its newline, at shutdown. */
  consoleFlush(): void {
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    if (rest.length > 0) this.emitChunks(rest);
  }

  private emitChunks(line: string): void {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    for (let i = 0; i < l.length; i += MAX_CONSOLE_LINE)
      this.emitLine(l.slice(i, i + MAX_CONSOLE_LINE));
    if (l.length === 0) this.emitLine('');
  }

  /** The domain's system time (ns) for a host clock reading. */
  systemTimeNs(timeBaseMs: number, nowMs = hostClockMs()): number {
    return (nowMs - timeBaseMs) * 1e6;
  }

  countCall(nr: number, ns: number): void {
    const c = this.counters;
    const b = CALL_COUNTER_BASE + CALL_COUNTER_STRIDE * nr;
    c[b + CALL_COUNTER.count] += 1;
    c[b + CALL_COUNTER.total_ns] += ns;
    if (ns > c[b + CALL_COUNTER.max_ns]) c[b + CALL_COUNTER.max_ns] = ns;
  }

  countPort(port: number, field: number): void {
    this.counters[PORT_COUNTER_BASE + PORT_COUNTER_STRIDE * port + field] += 1;
  }
}
