// A second, deliberately plain reading of "Rules a device must enforce"
// (reference/virtio.md) for one chain, to run beside ChainReader: the two
// must agree on whether a chain is acceptable and, if it is, on every
// segment. Written for clarity, not speed (BigInt addresses, one check per
// line), so that a shortcut in the fast reader shows up as a disagreement.
//
// pvkit's policy where the spec leaves room (the reader's documented
// choices): a chain may hold at most N buffers in all, direct and indirect
// together; an indirect table at most min(N, 65535) entries.
import {
  DESC_SIZE,
  MAX_CHAIN_BYTES,
  MAX_INDIRECT_ENTRIES,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from '../../packages/virtio-ring/src/index.ts';

export interface ModelSegment {
  addr: number;
  len: number;
  writable: boolean;
}

/** The segments of an acceptable chain, or the rule it breaks. */
export type ModelChain = { ok: true; segments: ModelSegment[] } | { ok: false; why: string };

interface RawDesc {
  addr: bigint;
  len: number;
  flags: number;
  next: number;
}

function readDesc(view: DataView, at: number): RawDesc {
  return {
    addr: view.getBigUint64(at, true),
    len: view.getUint32(at + 8, true),
    flags: view.getUint16(at + 12, true),
    next: view.getUint16(at + 14, true),
  };
}

export function modelChain(
  view: DataView,
  memSize: number,
  queueSize: number,
  descTable: number,
  indirectAllowed: boolean,
  head: number,
): ModelChain {
  const size = BigInt(memSize);
  const segments: ModelSegment[] = [];
  let total = 0;
  let sawWritable = false;
  const fail = (why: string): ModelChain => ({ ok: false, why });

  // One buffer: inside memory, under the chain limits, readable before writable.
  const take = (d: RawDesc): string | null => {
    if (d.addr >= size) return 'address at or past the end';
    if (BigInt(d.len) > size - d.addr) return 'range past the end';
    if (segments.length >= queueSize) return 'more than N buffers';
    if (total + d.len > MAX_CHAIN_BYTES) return 'more than 2^32 bytes';
    const writable = (d.flags & VIRTQ_DESC_F_WRITE) !== 0;
    if (!writable && sawWritable) return 'readable after writable';
    sawWritable ||= writable;
    total += d.len;
    segments.push({ addr: Number(d.addr), len: d.len, writable });
    return null;
  };

  let index = head;
  for (let visited = 1; ; visited++) {
    if (visited > queueSize) return fail('more than N descriptors');
    const d = readDesc(view, descTable + index * DESC_SIZE);
    if ((d.flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
      // The indirect descriptor ends the direct chain.
      if (!indirectAllowed) return fail('INDIRECT not negotiated');
      if ((d.flags & VIRTQ_DESC_F_NEXT) !== 0) return fail('INDIRECT with NEXT');
      if (d.len === 0 || d.len % DESC_SIZE !== 0) return fail('bad indirect table length');
      const entries = d.len / DESC_SIZE;
      if (entries > Math.min(queueSize, MAX_INDIRECT_ENTRIES)) return fail('indirect too large');
      if (d.addr >= size || BigInt(d.len) > size - d.addr) return fail('indirect table outside');
      const table = Number(d.addr);
      let j = 0;
      for (let seen = 1; ; seen++) {
        if (seen > entries) return fail('loop in the indirect table');
        const e = readDesc(view, table + j * DESC_SIZE);
        if ((e.flags & VIRTQ_DESC_F_INDIRECT) !== 0) return fail('nested INDIRECT');
        const bad = take(e);
        if (bad) return fail(bad);
        if ((e.flags & VIRTQ_DESC_F_NEXT) === 0) return { ok: true, segments };
        if (e.next >= entries) return fail('indirect next out of range');
        j = e.next;
      }
    }
    const bad = take(d);
    if (bad) return fail(bad);
    if ((d.flags & VIRTQ_DESC_F_NEXT) === 0) return { ok: true, segments };
    if (d.next >= queueSize) return fail('next out of range');
    index = d.next;
  }
}
