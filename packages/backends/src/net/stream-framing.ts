// QEMU's `-netdev stream` framing: over a byte stream (TCP or a Unix
// socket) each frame is preceded by its length as a 32-bit big-endian
// integer. No FCS, no virtio header.
//
// The decoder is incremental: TCP hands us arbitrary chunks, so a length
// prefix or a frame may be split anywhere and one chunk may hold many
// frames. Frames wholly inside a chunk are passed on as views of it (no
// copy); only a frame split across chunks is assembled, in one buffer of
// `maxFrame` bytes allocated up front. Memory is therefore bounded whatever
// the peer sends. A length above `maxFrame` means the peer is broken or the
// stream is out of sync, and there is no way to resynchronise a length-
// prefixed stream: the decoder stops for good with an error, and the backend
// closes the connection (QEMU does the same). Lengths below an Ethernet
// header are skipped and counted, which keeps the stream in sync.

import { ETH_FRAME_LEN, ETH_HLEN } from '@pvkit/virtio-ring';

export const STREAM_PREFIX_LEN = 4;

/** The 4-byte prefix plus the frame, ready to write to the stream. */
export function encodeStreamFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(STREAM_PREFIX_LEN + frame.length);
  writeStreamPrefix(out, 0, frame.length);
  out.set(frame, STREAM_PREFIX_LEN);
  return out;
}

export function writeStreamPrefix(out: Uint8Array, off: number, len: number): void {
  if (!Number.isInteger(len) || len < 0 || len > 0xffff_ffff) {
    throw new RangeError(`frame length ${len} does not fit the 32-bit prefix`);
  }
  out[off] = len >>> 24;
  out[off + 1] = (len >>> 16) & 0xff;
  out[off + 2] = (len >>> 8) & 0xff;
  out[off + 3] = len & 0xff;
}

export class StreamDecoderStats {
  frames = 0;
  bytes = 0;
  /** Length prefixes below an Ethernet header: skipped. */
  runts = 0;
}

export class StreamDecoder {
  declare readonly maxFrame: number;
  readonly stats = new StreamDecoderStats();
  /** Why decoding stopped, or null while the stream is healthy. */
  error: string | null = null;

  private readonly prefix = new Uint8Array(STREAM_PREFIX_LEN);
  private prefixHave = 0;
  /** Length of the frame being read, or -1 while reading a prefix. */
  private frameLen = -1;
  declare private readonly assembly: Uint8Array;
  private have = 0;

  constructor(opts: { maxFrame?: number } = {}) {
    this.maxFrame = opts.maxFrame ?? ETH_FRAME_LEN;
    if (!(this.maxFrame >= ETH_HLEN)) throw new RangeError('maxFrame below an Ethernet header');
    this.assembly = new Uint8Array(this.maxFrame);
  }

  /** Bytes held for an incomplete prefix or frame (never more than 4 + maxFrame). */
  get pending(): number {
    return this.frameLen < 0 ? this.prefixHave : this.have;
  }

  /**
   * Feed one chunk. `onFrame` gets each complete frame as a view that is
   * valid only during the call. Returns false once the stream is broken
   * (`error` says why); later chunks are then ignored.
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): boolean {
    if (this.error !== null) return false;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.frameLen >= 0) {
        // Continue a frame split across chunks.
        const take = Math.min(this.frameLen - this.have, n - i);
        this.assembly.set(chunk.subarray(i, i + take), this.have);
        this.have += take;
        i += take;
        if (this.have === this.frameLen) this.finishAssembled(onFrame);
      } else if (this.prefixHave === 0 && n - i >= STREAM_PREFIX_LEN) {
        // A whole prefix in the chunk; the frame too, usually: pass a view.
        const len = readBe32(chunk, i);
        if (!this.startFrame(len)) return false;
        i += STREAM_PREFIX_LEN;
        if (n - i >= len) {
          this.frameLen = -1;
          this.emit(chunk.subarray(i, i + len), onFrame);
          i += len;
        }
      } else {
        // A prefix split across chunks: collect it byte by byte.
        this.prefix[this.prefixHave++] = chunk[i++];
        if (this.prefixHave === STREAM_PREFIX_LEN) {
          this.prefixHave = 0;
          if (!this.startFrame(readBe32(this.prefix, 0))) return false;
          if (this.frameLen === 0) this.finishAssembled(onFrame);
        }
      }
    }
    return true;
  }

  /** Start over (a new connection). */
  reset(): void {
    this.error = null;
    this.prefixHave = 0;
    this.frameLen = -1;
    this.have = 0;
  }

  private startFrame(len: number): boolean {
    if (len > this.maxFrame) {
      this.error = `frame length ${len} exceeds the maximum of ${this.maxFrame}: stream out of sync or peer misconfigured`;
      return false;
    }
    this.frameLen = len;
    this.have = 0;
    return true;
  }

  private finishAssembled(onFrame: (frame: Uint8Array) => void): void {
    const len = this.frameLen;
    this.frameLen = -1;
    this.emit(this.assembly.subarray(0, len), onFrame);
  }

  private emit(frame: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    if (frame.length < ETH_HLEN) {
      this.stats.runts++;
      return;
    }
    this.stats.frames++;
    this.stats.bytes += frame.length;
    onFrame(frame);
  }
}

function readBe32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}
