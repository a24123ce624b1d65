// net-tx: what a virtio-net device does with a tx chain, on top of the
// device half: copy the packet out of guest memory once, read and validate
// the virtio_net_hdr against the acked features (validateTxNetHdr),
// complete a NEEDS_CSUM checksum in its own copy (completeChecksum), and ask
// the learning switch where the frame goes (LearningSwitch.forward).
// Invariants: nothing throws; nothing is written outside the frame (guard
// bytes around the copy; a checksum touches only its two bytes, and equals
// a plain RFC 1071 sum); forward answers a live port other than the ingress
// one, FLOOD or DROP, and only names a port where that MAC was last seen as
// a source; every port counter adds up; the MAC table stays in its bounds.
import {
  DROP,
  FLOOD,
  LearningSwitch,
  type PortCounters,
} from '../../packages/backends/src/index.ts';
import {
  completeChecksum,
  type DescriptorChain,
  ETH_HLEN,
  layoutSplitQueue,
  macIsMulticast,
  macIsZero,
  macToKey,
  NET_HDR_SIZE,
  NetHdrFlag,
  readNetHdr,
  validateTxNetHdr,
} from '../../packages/virtio-ring/src/index.ts';
import { DeviceHarness } from '../lib/device-harness.ts';
import { GuestPool } from '../lib/guest.ts';
import { macPool, plainChecksum, txFeatures, txPacket } from '../lib/net-gen.ts';
import { type Buf, Bump, cuts, distinctIndices } from '../lib/ring-gen.ts';
import type { Rng } from '../lib/rng.ts';
import { check, type FuzzTarget } from '../lib/runner.ts';
import { count } from '../lib/stats.ts';

const GUARD = 64;
const TX_ERRORS = new Set([
  'needs-csum-not-negotiated',
  'csum-start-beyond-frame',
  'csum-offset-beyond-frame',
  'device-only-flag',
  'unknown-gso-type',
  'gso-not-negotiated',
  'ecn-not-negotiated',
  'gso-without-needs-csum',
  'gso-size-zero',
]);

interface Net {
  sw: LearningSwitch;
  ports: number[];
  /** Where each learnable source MAC was last seen, and when. */
  seen: Map<number, { port: number; at: number }>;
  /** Deliveries reported per port: [ok, bytes, dropped]. */
  tx: Map<number, [number, number, number]>;
  now: number;
  acked: bigint;
}

function snapshot(c: PortCounters): Record<string, number> {
  return { ...c };
}

/** Only `field` (two bytes at `at`, or none when at < 0) may differ between a and b. */
function onlyChanged(a: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && i !== at && i !== at + 1) return false;
  return true;
}

/** The device's copy: the packet at a random alignment between guard bytes. */
function copyOut(rng: Rng, h: DeviceHarness, c: DescriptorChain, scratch: Uint8Array[]) {
  const off = GUARD + rng.int(8);
  const buf = rng.pick(scratch).subarray(0, off + c.readableLen + GUARD);
  buf.fill(0x5a);
  let at = off;
  for (const s of c.segments) {
    buf.set(h.g.mem.bytes(s.addr, s.len), at);
    at += s.len;
  }
  return { buf, off, end: at + GUARD };
}

/** The completeChecksum step: in place, the two field bytes only, the plain sum's value. */
function checksum(
  buf: Uint8Array,
  frame: number,
  len: number,
  start: number,
  offset: number,
): boolean {
  const before = buf.slice();
  const r = completeChecksum(buf, frame, len, start, offset);
  if (r !== null) {
    check(
      buf.every((b, i) => b === before[i]),
      `completeChecksum refused (${r}) yet wrote`,
    );
    return false;
  }
  check(
    start + offset + 2 <= len,
    `checksum field at ${start}+${offset} outside a ${len}-byte frame`,
  );
  const field = frame + start + offset;
  check(onlyChanged(buf, before, field), 'completeChecksum wrote outside its field');
  const want = plainChecksum(before, frame + start, frame + len) || 0xffff;
  const got = (buf[field] << 8) | buf[field + 1];
  check(got === want, `checksum ${got.toString(16)}, plain RFC 1071 says ${want.toString(16)}`);
  return true;
}

function forward(rng: Rng, net: Net, inPort: number, buf: Uint8Array, frame: number, len: number) {
  const { sw } = net;
  const before = net.ports.map((p) => snapshot(sw.stats(p)));
  const bytes = buf.slice();
  const dest = sw.forward(inPort, buf, frame, len, net.now);
  check(onlyChanged(buf, bytes, -1), 'forward wrote into the frame');
  const live = net.ports.includes(dest) && dest !== inPort;
  check(dest === FLOOD || dest === DROP || live, `forward gave port ${dest} (in ${inPort})`);
  const src = frame + 6;
  const why =
    len < ETH_HLEN
      ? 'rxRunts'
      : len > sw.maxFrameLen
        ? 'rxOversize'
        : macIsMulticast(buf, src) || macIsZero(buf, src)
          ? 'rxBadSource'
          : null;
  if (why === null) net.seen.set(macToKey(buf, src), { port: inPort, at: net.now });
  const dst = why === null ? net.seen.get(macToKey(buf, frame)) : undefined;
  const fresh = dst !== undefined && net.now - dst.at < sw.table.ageingMs;
  if (dest >= 0)
    check(fresh && dst?.port === dest, `forwarded to ${dest}, where the MAC was not last seen`);
  const reason = why ?? (dest === FLOOD ? 'rxFlooded' : dest === DROP ? 'rxFiltered' : null);
  if (reason === 'rxFiltered')
    check(fresh && dst?.port === inPort, 'dropped a frame for a station elsewhere');
  if (why === null && macIsMulticast(buf, frame)) check(dest === FLOOD, 'multicast not flooded');
  net.ports.forEach((p, i) => {
    const now = sw.stats(p);
    for (const k of Object.keys(before[i]) as (keyof PortCounters)[]) {
      let want = before[i][k];
      if (p === inPort && k === 'rxFrames') want += 1;
      if (p === inPort && k === 'rxBytes') want += len;
      if (p === inPort && k === reason) want += 1;
      check(now[k] === want, `port ${p} ${k} is ${now[k]}, expected ${want} (dest ${dest})`);
    }
  });
  count(`forward ${dest === FLOOD ? 'flood' : dest === DROP ? `drop ${reason}` : 'unicast'}`);
  const targets = dest === FLOOD ? net.ports.filter((p) => p !== inPort) : dest >= 0 ? [dest] : [];
  for (const p of targets) {
    const ok = rng.chance(0.8);
    sw.delivered(p, len, ok);
    const t = net.tx.get(p) ?? [0, 0, 0];
    if (ok) {
      t[0]++;
      t[1] += len;
    } else t[2]++;
    net.tx.set(p, t);
  }
}

function device(
  rng: Rng,
  h: DeviceHarness,
  net: Net,
  c: DescriptorChain,
  scratch: Uint8Array[],
  home: Map<number, number>,
) {
  if (c.writableLen > 0 || c.readableLen < NET_HDR_SIZE) return void count('tx chain refused');
  const { buf, off, end } = copyOut(rng, h, c, scratch);
  const hdr = readNetHdr(buf, off);
  const frame = off + NET_HDR_SIZE;
  const len = c.readableLen - NET_HDR_SIZE;
  const err = validateTxNetHdr(hdr, net.acked, len);
  check(err === null || TX_ERRORS.has(err), `validateTxNetHdr said ${err}`);
  count(`tx header ${err ?? 'ok'}`);
  // The checksum step on arbitrary offsets too: refusing is fine, writing outside is not.
  if (rng.chance(0.2)) checksum(buf.slice(), frame, len, rng.u32() & 0xffff, rng.u32() & 0xffff);
  if (err === null && (hdr.flags & NetHdrFlag.NEEDS_CSUM) !== 0)
    check(
      checksum(buf, frame, len, hdr.csumStart, hdr.csumOffset),
      'a validated header whose checksum offsets completeChecksum refuses',
    );
  check(
    buf.subarray(0, off).every((b) => b === 0x5a) &&
      buf.subarray(end - GUARD, end).every((b) => b === 0x5a),
    'a byte outside the packet copy changed',
  );
  if (err !== null) return;
  const src = len >= 12 ? macToKey(buf, frame + 6) : -1;
  if (!home.has(src) || rng.chance(0.1)) home.set(src, rng.pick(net.ports));
  forward(rng, net, home.get(src) as number, buf, frame, len);
}

function iteration(rng: Rng, pool: GuestPool, scratch: Uint8Array[]): void {
  const g = pool.get(32 * 1024);
  const n = rng.pick([8, 16, 64]);
  const q = layoutSplitQueue(0, n);
  const h = DeviceHarness.open(g, q, { indirect: rng.bool(), eventIdx: rng.bool() });
  if (h === null) throw new Error('harness: a valid queue was refused');
  const sw = new LearningSwitch({
    maxFrameLen: rng.pick([1514, 1514, 9014]),
    maxEntries: rng.pick([2, 8192, 8192]),
    maxPerPort: rng.pick([1, 1024, 1024]),
    ageingMs: rng.pick([5, 300_000, 300_000]),
  });
  const ports = distinctIndices(rng, 8, rng.range(2, 4));
  for (const p of ports) sw.addPort(p);
  const net: Net = {
    sw,
    ports,
    seen: new Map(),
    tx: new Map(),
    now: rng.int(1000),
    acked: txFeatures(rng),
  };
  const macs = macPool(rng);
  // Stations mostly stay on their port (so the switch learns them); now and then one moves.
  const home = new Map<number, number>();
  const data = new Bump(Math.ceil(q.end / 16) * 16, g.size);
  const free = distinctIndices(rng, n, n);
  const packets = rng.range(1, 12);
  for (let k = 0; k < packets; k++) {
    const pkt = txPacket(rng, macs, sw.maxFrameLen, net.acked);
    const bufs: Buf[] = [];
    let at = 0;
    for (const len of cuts(rng, pkt.length)) {
      const addr = data.alloc(len, rng.pick([1, 2, 4]));
      if (addr < 0) break;
      g.writeBytes(addr, pkt.subarray(at, at + len));
      bufs.push({ addr, len, writable: false });
      at += len;
    }
    if (rng.chance(0.05) && bufs.length > 0) bufs[bufs.length - 1].writable = true; // a bad tx chain
    if (bufs.length === 0 || bufs.length > free.length) break;
    h.ring.offer(h.ring.chain(free.splice(0, bufs.length), bufs));
  }
  for (let r = h.pop(rng); r.t === 'chain'; r = h.pop(rng)) {
    if (r.chain !== null) device(rng, h, net, r.chain, scratch, home);
    h.push(r.head, 0); // tx: the device writes nothing into the guest
    net.now += rng.int(50);
    if (rng.chance(0.05)) {
      // A port unplugged and plugged back: its stations are forgotten, its counters fresh.
      const p = rng.pick(ports);
      sw.removePort(p);
      sw.addPort(p);
      for (const [k, v] of net.seen) if (v.port === p) net.seen.delete(k);
      net.tx.delete(p);
    }
  }
  h.publish();
  h.checkMemory('after the tx queue drained');
  let learned = 0;
  for (const p of ports) {
    const c = sw.stats(p);
    const [ok, bytes, dropped] = net.tx.get(p) ?? [0, 0, 0];
    check(
      c.txFrames === ok && c.txBytes === bytes && c.txDropped === dropped,
      `port ${p} tx counters`,
    );
    check(sw.table.countOn(p) <= sw.table.maxPerPort, `port ${p} over its MAC quota`);
    learned += sw.table.countOn(p);
  }
  check(sw.table.size <= sw.table.maxEntries && sw.table.size === learned, 'MAC table bounds');
}

export const netTx: FuzzTarget = {
  name: 'net-tx',
  about: 'virtio-net tx: header validation, checksum completion, switch forwarding',
  prepare() {
    const pool = new GuestPool();
    const size = 64 * 1024 + 2 * GUARD + 16;
    const scratch = [
      new Uint8Array(new ArrayBuffer(size)),
      new Uint8Array(new SharedArrayBuffer(size)),
    ];
    return (rng) => iteration(rng, pool, scratch);
  },
};
