// The block layer's request queue with a recording driver: how an I/O is
// checked, split by the device's limits, spread over hardware queues within
// the depth, held back while rings are full, and completed.
import { describe, expect, test } from 'vitest';
import { RequestQueue } from '../src/block/request-queue.ts';
import {
  type BlockDriver,
  BlockError,
  type BlockLimits,
  type HwRequest,
} from '../src/block/types.ts';

class RecordingDriver implements BlockDriver {
  readonly name = 'vdz';
  readonly serial = 'test';
  onComplete: (() => void) | null = null;
  readonly queued: { q: number; rq: HwRequest }[] = [];
  readonly rooms: number[];
  readonly limits: BlockLimits;
  readonly sizeBytes: number;
  readonly nrQueues: number;
  readonly readOnly: boolean;
  constructor(
    sizeBytes: number,
    nrQueues: number,
    limits: Partial<BlockLimits> = {},
    readOnly = false,
    room = 1000,
  ) {
    this.sizeBytes = sizeBytes;
    this.nrQueues = nrQueues;
    this.readOnly = readOnly;
    this.rooms = new Array(nrQueues).fill(room);
    this.limits = {
      maxSegmentBytes: 0,
      maxSegments: 1,
      maxDiscardSectors: 0,
      maxWriteZeroesSectors: 0,
      flush: true,
      ...limits,
    };
  }
  room(q: number): number {
    return this.rooms[q];
  }
  queueRq(q: number, rq: HwRequest): boolean {
    if (this.rooms[q] === 0) return false;
    this.rooms[q]--;
    this.queued.push({ q, rq });
    return true;
  }
  /** Complete the oldest request (err: its error), give its room back, as an interrupt would. */
  completeOldest(err: BlockError | null = null): void {
    const { q, rq } = this.queued.shift() as { q: number; rq: HwRequest };
    this.rooms[q]++;
    rq.done(err);
    this.onComplete?.();
  }
}

const now = () => 0;

describe('checks before anything reaches the device', () => {
  const q = new RequestQueue(new RecordingDriver(1 << 20, 1, {}, true), now);
  test.each([
    ['read', 1000, 512, 'out-of-range'],
    ['read', 0, 100, 'out-of-range'],
    ['read', 1 << 20, 512, 'out-of-range'],
    ['read', (1 << 20) - 512, 1024, 'out-of-range'],
    ['write', 0, 512, 'read-only'],
    ['discard', 0, 512, 'read-only'],
  ] as const)('%s at %d of %d bytes: %s', (op, offset, length, kind) => {
    expect(() => q.submit(op, offset, length, 0x10000, null)).toThrow(
      expect.objectContaining({ kind }),
    );
  });
  test('discard on a device that does not offer it', () => {
    const rw = new RequestQueue(new RecordingDriver(1 << 20, 1), now);
    expect(() => rw.submit('discard', 0, 512, 0, null)).toThrow(/unsupported/);
  });
});

describe('splitting', () => {
  test('by size_max and seg_max: segments of size_max, requests of seg_max segments', () => {
    const d = new RecordingDriver(64 << 20, 1, { maxSegmentBytes: 4096, maxSegments: 3 });
    const q = new RequestQueue(d, now);
    q.submit('read', 8192, 4096 * 7 + 512, 0x100040, null);
    expect(
      d.queued.map(({ rq }) => [rq.sector, rq.segments.map((s) => [s.gpa - 0x100040, s.len])]),
    ).toEqual([
      [
        16,
        [
          [0, 4096],
          [4096, 4096],
          [8192, 4096],
        ],
      ],
      [
        16 + 24,
        [
          [12288, 4096],
          [16384, 4096],
          [20480, 4096],
        ],
      ],
      [
        16 + 48,
        [
          [24576, 4096],
          [28672, 512],
        ],
      ],
    ]);
  });

  test('discard by max_discard_sectors', () => {
    const d = new RecordingDriver(64 << 20, 1, { maxDiscardSectors: 8 });
    new RequestQueue(d, now).submit('discard', 0, 9 * 1024, 0, null);
    expect(d.queued.map(({ rq }) => [rq.op, rq.sector, rq.segments[0].len])).toEqual([
      ['discard', 0, 4096],
      ['discard', 8, 4096],
      ['discard', 16, 1024],
    ]);
  });

  test('one I/O completes when all its parts have; the first error wins', () => {
    const d = new RecordingDriver(1 << 20, 1, { maxSegmentBytes: 512 });
    const done: string[] = [];
    const io = new RequestQueue(d, now).submit('write', 0, 1536, 0x1000, (x) =>
      done.push(x.error?.kind ?? 'ok'),
    );
    d.completeOldest();
    d.completeOldest(new BlockError('io-error', 'x'));
    expect(io.done).toBe(false);
    d.completeOldest();
    expect(io.done).toBe(true);
    expect(done).toEqual(['io-error']);
  });
});

describe('dispatch', () => {
  test('round robin over hardware queues, at most `depth` in flight, the rest FIFO', () => {
    const d = new RecordingDriver(1 << 20, 3);
    const q = new RequestQueue(d, now, 4);
    for (let i = 0; i < 6; i++) q.submit('read', i * 512, 512, 0x1000, null);
    expect(d.queued.map((x) => x.q)).toEqual([0, 1, 2, 0]);
    expect([q.inFlight, q.queued]).toEqual([4, 2]);
    d.completeOldest();
    expect(d.queued.map((x) => x.rq.sector)).toEqual([1, 2, 3, 4]);
    q.depth = 8;
    expect([q.inFlight, q.queued]).toEqual([5, 0]);
    expect(() => {
      q.depth = 0;
    }).toThrow(RangeError);
  });

  test('a full ring holds requests back until completions make room', () => {
    const d = new RecordingDriver(1 << 20, 1, {}, false, 2);
    const q = new RequestQueue(d, now);
    for (let i = 0; i < 5; i++) q.submit('read', i * 512, 512, 0x1000, null);
    expect(d.queued).toHaveLength(2);
    d.completeOldest();
    d.completeOldest();
    expect(d.queued.map((x) => x.rq.sector)).toEqual([2, 3]);
  });
});
