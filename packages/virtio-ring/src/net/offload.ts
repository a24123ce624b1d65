// Checksum offload on the device side (VIRTIO 1.2 §5.1.6.2).
//
// A driver that negotiated CSUM may send a frame with NEEDS_CSUM: the L4
// checksum field holds only the folded pseudo-header sum, and the device must
// sum from csum_start to the end of the frame and store the complement at
// csum_start + csum_offset before the frame reaches a wire (or a receiver that
// cannot take a partial checksum).

import { csumFinish, csumPartial } from './checksum.ts';
import { hasNetFeature } from './features.ts';
import { checkCsumOffsets } from './header.ts';

/**
 * Complete the checksum of the frame at `buf[frameStart, frameStart +
 * frameLen)` in place, as `skb_checksum_help` does. Offsets are relative to
 * the start of the frame (the byte after the virtio_net_hdr). Work on the
 * device's own copy of a frame, never on the guest's tx buffer: the guest may
 * change it under us. Returns null on success or what was wrong with the
 * offsets (nothing is written then).
 */
export function completeChecksum(
  buf: Uint8Array,
  frameStart: number,
  frameLen: number,
  csumStart: number,
  csumOffset: number,
): 'csum-start-beyond-frame' | 'csum-offset-beyond-frame' | null {
  if (frameStart < 0 || frameLen < 0 || frameStart + frameLen > buf.length) {
    throw new RangeError('frame lies outside its buffer');
  }
  const problem = checkCsumOffsets(csumStart, csumOffset, frameLen);
  if (problem) return problem;
  const field = frameStart + csumStart + csumOffset;
  const value = csumFinish(csumPartial(buf, frameStart + csumStart, frameStart + frameLen));
  // A computed 0 goes out as 0xffff: the two are equal in ones' complement,
  // and 0 in a UDP checksum would mean "no checksum" (RFC 768).
  const stored = value === 0 ? 0xffff : value;
  buf[field] = stored >>> 8;
  buf[field + 1] = stored & 0xff;
  return null;
}

/**
 * What a device does with a frame on its way to a virtio-net receiver:
 * - 'as-is': the sender supplied a full checksum; deliver with flags 0.
 * - 'data-valid': the sender asked for NEEDS_CSUM and the receiver acked
 *   GUEST_CSUM; deliver DATA_VALID and skip the summing (the frame never
 *   left host memory, so there is nothing to protect against).
 * - 'complete': the receiver did not ack GUEST_CSUM; complete the checksum in
 *   the receiver's copy first (`completeChecksum`), then deliver with flags 0.
 * A wire (dgram or stream tunnel) is a receiver without GUEST_CSUM.
 */
export function rxChecksumAction(
  txNeedsCsum: boolean,
  receiverAcked: bigint,
): 'as-is' | 'data-valid' | 'complete' {
  if (!txNeedsCsum) return 'as-is';
  return hasNetFeature(receiverAcked, 'GUEST_CSUM') ? 'data-valid' : 'complete';
}
