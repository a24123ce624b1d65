// hypercall: random call numbers and arguments against the hypervisor
// service's real dispatch, in-process (no threads: the Service object the
// service worker runs, its handler table, real guest images and mailboxes).
// A hostile domain A makes every call, mostly straight through
// Service.dispatch (so a thrown exception arrives here with its stack) and
// now and then through its mailbox and a service pass (the trap path a vCPU
// takes). A victim domain B, served by the same service, answers a null
// call through the trap path after every one of A's calls.
// Invariants: every result is an integer, >= 0 or a -errno of the ABI's
// table, for the call and for every entry of a multicall; no exception
// escapes and no domain crashes; B keeps answering, and no byte of B's
// memory outside its shared_info page changes (A may raise B's events,
// nothing more); entries of a multicall that are multicalls get -EINVAL.
// An episode is 64 calls on one service; A is rebuilt when it shuts down.
import {
  ABI_VERSION,
  createMailbox,
  DEVICE_TYPE,
  DOMAIN_COUNTERS_BYTES,
  ERRNO,
  EVTCHNOP,
  HYPERVISOR,
  hostClockMs,
  MAILBOX,
  MAILBOX_STATE,
  MIN_GUEST_MEMORY,
  MULTICALL_ENTRY,
  MULTICALL_ENTRY_SIZE,
  mailboxArg,
  PAGE_SIZE,
  readI64,
  SERVICE_COUNTERS_BYTES,
  SHARED_INFO_GPA,
  SHUTDOWN,
  VIRQ,
  XENVER,
} from '../../packages/hypercall/src/index.ts';
import { BLK_CONFIG_SIZE, DeviceControl, Doorbell } from '../../packages/virtio-ring/src/index.ts';
import { type Call, randomCall } from '../lib/hypercall-gen.ts';
import type { Rng } from '../lib/rng.ts';
import { check, type FuzzTarget } from '../lib/runner.ts';
import { count } from '../lib/stats.ts';
import { buildGuestImage, type FromService, Service, servicePass } from './hypercall-vmm.ts';

const EPISODE = 64;
const NAMES = new Map(Object.entries(HYPERVISOR).map(([name, nr]) => [nr as number, name]));
const ERRNOS = new Set(Object.values(ERRNO).map((e) => -e));

function valid(r: unknown): boolean {
  return typeof r === 'number' && Number.isSafeInteger(r) && (r >= 0 || ERRNOS.has(r));
}

/** A described blk device: pvkit_mmio_op then reaches a real register model, not -ENODEV. */
function blkControl(): SharedArrayBuffer {
  const control = DeviceControl.create(1);
  control.describe({
    deviceId: DEVICE_TYPE.blk,
    features: 0n,
    queueMaxSizes: [256],
    config: new Uint8Array(BLK_CONFIG_SIZE),
  });
  return control.buffer;
}

interface Dom {
  domid: number;
  bytes: number;
  reserved: number;
  u8: Uint8Array;
  dv: DataView;
  mailboxes: Int32Array[];
}

function createDomain(svc: Service, domid: number, vcpus: number, withDevice: boolean): Dom {
  const bytes = MIN_GUEST_MEMORY;
  const devices = withDevice
    ? [{ type: DEVICE_TYPE.blk, id: 0, mmio: 0, nrQueues: 1, evtchn: 1, doorbell: 0, flags: 0 }]
    : [];
  const timeBaseMs = svc.timeBaseMs;
  const image = buildGuestImage({
    domid,
    name: `fuzz${domid}`,
    bytes,
    nrVcpus: vcpus,
    cmdline: '',
    apps: [],
    devices,
    timeBaseMs,
  });
  const mailboxes = Array.from({ length: vcpus }, () => createMailbox());
  svc.control({
    t: 'create',
    setup: {
      domid,
      name: `fuzz${domid}`,
      memory: image.memory,
      mailboxes,
      counters: new SharedArrayBuffer(DOMAIN_COUNTERS_BYTES),
      reservedBytes: image.reservedBytes,
      devices: devices.map((d) => ({
        type: d.type,
        id: d.id,
        evtchn: d.evtchn,
        nrQueues: 1,
        config: {},
        control: blkControl(),
        doorbells: Doorbell.createWords(1).buffer as SharedArrayBuffer,
        doorbell: d.doorbell,
      })),
    },
  });
  return {
    domid,
    bytes,
    reserved: image.reservedBytes,
    u8: new Uint8Array(image.memory),
    dv: new DataView(image.memory),
    mailboxes: mailboxes.map((m) => new Int32Array(m)),
  };
}

/** A trap through vCPU v's mailbox and one service pass; the answer, or null if none came. */
function trap(svc: Service, d: Dom, v: number, call: Call): number | null {
  const m = d.mailboxes[v];
  m[MAILBOX.nr] = call.nr;
  for (let k = 0; k < 12; k++) m[MAILBOX.args + k] = call.words[k];
  Atomics.store(m, MAILBOX.state, MAILBOX_STATE.request);
  servicePass(svc);
  if (Atomics.load(m, MAILBOX.state) !== MAILBOX_STATE.done) return null;
  return readI64(m, MAILBOX.result);
}

function simple(nr: number, ...args: number[]): Call {
  const words = new Uint32Array(12);
  for (let k = 0; k < args.length; k++) words[2 * k] = args[k];
  return { nr, words };
}

class Episode {
  readonly svc: Service;
  readonly posted: FromService[] = [];
  a: Dom;
  readonly b: Dom;
  /** B's memory below and above its shared_info page, as it must stay. */
  private readonly bLow: Buffer;
  private readonly bHigh: Buffer;
  private readonly offered: number;
  private readonly scratch = new Int32Array(MAILBOX.args + 12);
  subcalls = 0;

  constructor(rng: Rng) {
    const counters = new Float64Array(new SharedArrayBuffer(SERVICE_COUNTERS_BYTES));
    this.svc = new Service(hostClockMs(), counters, (m) => this.posted.push(m));
    // Every call a multicall makes goes through dispatch: check each result there.
    const dispatch = this.svc.dispatch.bind(this.svc);
    this.svc.dispatch = (d, v, nr, args) => {
      const r = dispatch(d, v, nr, args);
      check(valid(r), () => `multicall entry ${nr}(${args.join(', ')}) returned ${r}`);
      this.subcalls++;
      return r;
    };
    const aId = rng.range(1, 40);
    const bId = aId + rng.range(1, 5);
    this.b = createDomain(this.svc, bId, 1, false);
    this.a = createDomain(this.svc, aId, rng.range(1, 2), rng.bool());
    // B offers A a port (so A can bind to it) and binds its timer.
    const offered = trap(
      this.svc,
      this.b,
      0,
      simple(HYPERVISOR.event_channel_op, EVTCHNOP.alloc_unbound, aId),
    );
    trap(
      this.svc,
      this.b,
      0,
      simple(HYPERVISOR.event_channel_op, EVTCHNOP.bind_virq, VIRQ.timer, 0),
    );
    this.offered = offered ?? 0;
    const shared = Buffer.from(this.b.u8.buffer);
    this.bLow = Buffer.from(shared.subarray(0, SHARED_INFO_GPA));
    this.bHigh = Buffer.from(shared.subarray(SHARED_INFO_GPA + PAGE_SIZE));
  }

  /** One call from A; then the checks. */
  step(rng: Rng): void {
    const a = this.a;
    if (rng.chance(0.1)) {
      // A scribbles on its own memory, shared_info included: its own business.
      for (let i = rng.range(1, 32); i > 0; i--) a.u8[rng.int(a.bytes)] = rng.u32() & 0xff;
    }
    const g = {
      bytes: a.bytes,
      reserved: a.reserved,
      dv: a.dv,
      self: a.domid,
      other: this.b.domid,
      ports: [this.offered, 1, 2, 3],
    };
    const { call, nested } = randomCall(rng, g);
    const v = rng.int(a.mailboxes.length);
    let r: number | null;
    if (rng.chance(0.25)) {
      count('trap path');
      r = trap(this.svc, a, v, call);
    } else {
      const d = this.svc.domain(a.domid);
      if (d === undefined) throw new Error('harness: domain A is gone');
      const args = new Float64Array(6);
      for (let k = 0; k < 12; k++) this.scratch[MAILBOX.args + k] = call.words[k];
      for (let k = 0; k < 6; k++) args[k] = mailboxArg(this.scratch, k);
      r = this.svc.dispatch(d, v, call.nr, args);
    }
    const crash = this.posted.find((m) => m.t === 'crash');
    check(crash === undefined, () => `domain crashed: ${JSON.stringify(crash)}`);
    const down = this.svc.domain(a.domid) === undefined;
    if (r === null || down) {
      check(
        down && this.posted.some((m) => m.t === 'shutdown' && m.domid === a.domid),
        `call ${call.nr}: no answer, yet domain A is up`,
      );
      count('domain A shut down');
      this.posted.length = 0;
      this.a = createDomain(this.svc, a.domid, a.mailboxes.length, rng.bool());
    } else {
      check(valid(r), () => `call ${call.nr} [${call.words.join(', ')}] returned ${r}`);
      count(`${NAMES.get(call.nr) ?? 'unknown call'} ${r >= 0 ? 'ok' : 'errno'}`);
    }
    if (nested && r === 0) {
      for (let i = 0; i < nested.n; i++) {
        const res = Number(
          a.dv.getBigInt64(nested.gpa + i * MULTICALL_ENTRY_SIZE + MULTICALL_ENTRY.result, true),
        );
        check(res === -ERRNO.EINVAL, `a multicall inside a multicall got ${res}, not -EINVAL`);
      }
      count('nested multicalls refused');
    }
    if (rng.chance(0.1)) {
      this.svc.fireTimers(hostClockMs() + rng.int(10_000));
      // A watchdog A armed may have expired: that ends A, as a shutdown does.
      if (this.svc.domain(this.a.domid) === undefined) {
        const id = this.a.domid;
        check(
          this.posted.some(
            (m) => m.t === 'shutdown' && m.domid === id && m.reason === SHUTDOWN.watchdog,
          ),
          'domain A vanished at a timer pass without a watchdog shutdown',
        );
        count('domain A watchdog expired');
        this.posted.length = 0;
        this.a = createDomain(this.svc, id, this.a.mailboxes.length, rng.bool());
      }
    }
    if (rng.chance(0.1))
      trap(this.svc, this.b, 0, simple(HYPERVISOR.event_channel_op, EVTCHNOP.send, this.offered));
    this.checkVictim();
  }

  private checkVictim(): void {
    const b = this.b;
    check(this.svc.domain(b.domid) !== undefined, 'domain B was torn down');
    const r = trap(this.svc, b, 0, simple(HYPERVISOR.xen_version, XENVER.version));
    check(r === ABI_VERSION, `domain B's null call answered ${r}`);
    const shared = Buffer.from(b.u8.buffer);
    check(
      shared.subarray(0, SHARED_INFO_GPA).equals(this.bLow),
      "domain B's memory below shared_info changed",
    );
    check(
      shared.subarray(SHARED_INFO_GPA + PAGE_SIZE).equals(this.bHigh),
      "domain B's memory above shared_info changed",
    );
  }
}

export const hypercallTarget: FuzzTarget = {
  name: 'hypercall',
  about:
    'random hypercalls against the service dispatch (in-process); a second domain keeps working',
  episode: EPISODE,
  prepare() {
    let ep: Episode | null = null;
    return (rng, _i, fresh) => {
      if (fresh || ep === null) ep = new Episode(rng);
      ep.step(rng);
      count('multicall entries run', ep.subcalls);
      ep.subcalls = 0;
    };
  },
};
