// 64-bit feature sets. Feature words are kept as bigint: a plain number
// bit-op in JavaScript is 32-bit and would silently drop VERSION_1 (bit 32)
// and everything above it. On the wire (virtio-mmio) they travel as two
// u32 windows selected by DeviceFeaturesSel / DriverFeaturesSel.

/** Transport-wide feature bit numbers (VIRTIO 1.2 §6). Device-type bits live with each device. */
export const VIRTIO_F = {
  INDIRECT_DESC: 28,
  EVENT_IDX: 29,
  VERSION_1: 32,
  ACCESS_PLATFORM: 33,
  RING_PACKED: 34,
  IN_ORDER: 35,
  NOTIFICATION_DATA: 38,
  RING_RESET: 40,
} as const;

export type FeatureSet = bigint;

const ALL_64 = (1n << 64n) - 1n;

/** The set holding one feature bit (0..63). */
export function featureBit(bit: number): FeatureSet {
  if (!Number.isInteger(bit) || bit < 0 || bit > 63)
    throw new RangeError(`feature bit ${bit} not in 0..63`);
  return 1n << BigInt(bit);
}

/** The set holding every listed feature bit. */
export function featureSet(...bits: number[]): FeatureSet {
  let s = 0n;
  for (const b of bits) s |= featureBit(b);
  return s;
}

export function hasFeature(set: FeatureSet, bit: number): boolean {
  return (set & featureBit(bit)) !== 0n;
}

/** The u32 window `sel` of a feature set (0 = bits 0..31, 1 = bits 32..63, others 0). */
export function featureWord(set: FeatureSet, sel: number): number {
  if (sel !== 0 && sel !== 1) return 0;
  return Number((set >> BigInt(32 * sel)) & 0xffffffffn);
}

/** The set with window `sel` replaced by the u32 `value` (windows other than 0 and 1 hold nothing). */
export function withFeatureWord(set: FeatureSet, sel: number, value: number): FeatureSet {
  if (sel !== 0 && sel !== 1) return set;
  const shift = BigInt(32 * sel);
  const word = BigInt(value >>> 0) << shift;
  return ((set & ~(0xffffffffn << shift)) | word) & ALL_64;
}

/** Build a set from its two u32 halves. */
export function featuresFromHalves(lo: number, hi: number): FeatureSet {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Split a set into its two u32 halves. */
export function featureHalves(set: FeatureSet): [lo: number, hi: number] {
  return [featureWord(set, 0), featureWord(set, 1)];
}

/** Transport features this package implements for split queues. */
export const RING_FEATURES: FeatureSet = featureSet(
  VIRTIO_F.INDIRECT_DESC,
  VIRTIO_F.EVENT_IDX,
  VIRTIO_F.VERSION_1,
);

/** The queue options that follow from a negotiated feature set. */
export function queueFeatures(negotiated: FeatureSet): { eventIdx: boolean; indirect: boolean } {
  return {
    eventIdx: hasFeature(negotiated, VIRTIO_F.EVENT_IDX),
    indirect: hasFeature(negotiated, VIRTIO_F.INDIRECT_DESC),
  };
}

/** Names of the transport bits in a set, for logs ("EVENT_IDX|VERSION_1|bit5"). */
export function describeFeatures(set: FeatureSet): string {
  const names: string[] = [];
  for (let b = 0; b < 64; b++) {
    if ((set & (1n << BigInt(b))) === 0n) continue;
    const name = Object.entries(VIRTIO_F).find(([, v]) => v === b)?.[0];
    names.push(name ?? `bit${b}`);
  }
  return names.join('|') || '0';
}
