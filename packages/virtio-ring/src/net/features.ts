// virtio-net device identity and feature bits (VIRTIO 1.2 §5.1.2–5.1.3).
//
// Transport-wide bits (VERSION_1, EVENT_IDX, INDIRECT_DESC, ...) belong to the
// ring core; this file holds only the bits a network device defines. Feature
// words are bigint: bits above 31 exist (e.g. SPEED_DUPLEX = 63, RSS_CONTEXT
// = 64), and a plain number would lose them in a bit operation.

/** virtio device ID of a network card. */
export const VIRTIO_NET_DEVICE_ID = 1;

/** Bit numbers of the virtio-net feature bits. */
export const VirtioNetF = {
  CSUM: 0,
  GUEST_CSUM: 1,
  CTRL_GUEST_OFFLOADS: 2,
  MTU: 3,
  MAC: 5,
  GUEST_TSO4: 7,
  GUEST_TSO6: 8,
  GUEST_ECN: 9,
  GUEST_UFO: 10,
  HOST_TSO4: 11,
  HOST_TSO6: 12,
  HOST_ECN: 13,
  HOST_UFO: 14,
  MRG_RXBUF: 15,
  STATUS: 16,
  CTRL_VQ: 17,
  CTRL_RX: 18,
  CTRL_VLAN: 19,
  CTRL_RX_EXTRA: 20,
  GUEST_ANNOUNCE: 21,
  MQ: 22,
  CTRL_MAC_ADDR: 23,
  DEVICE_STATS: 50,
  HASH_TUNNEL: 51,
  VQ_NOTF_COAL: 52,
  NOTF_COAL: 53,
  GUEST_USO4: 54,
  GUEST_USO6: 55,
  HOST_USO: 56,
  HASH_REPORT: 57,
  GUEST_HDRLEN: 59,
  RSS: 60,
  RSC_EXT: 61,
  STANDBY: 62,
  SPEED_DUPLEX: 63,
  RSS_CONTEXT: 64,
} as const;
export type VirtioNetFeatureName = keyof typeof VirtioNetF;

/** The feature word with exactly the named bits set. */
export function netFeatures(...names: VirtioNetFeatureName[]): bigint {
  let word = 0n;
  for (const name of names) word |= 1n << BigInt(VirtioNetF[name]);
  return word;
}

/** Whether `word` has the named bit. */
export function hasNetFeature(word: bigint, name: VirtioNetFeatureName): boolean {
  return (word & (1n << BigInt(VirtioNetF[name]))) !== 0n;
}

/**
 * "Feature bit requirements" of the spec: each listed bit needs every group in
 * `allOf`, and each group is satisfied by any one of its bits.
 */
const REQUIREMENTS: ReadonlyArray<{
  bit: VirtioNetFeatureName;
  allOf: ReadonlyArray<readonly VirtioNetFeatureName[]>;
}> = [
  { bit: 'GUEST_TSO4', allOf: [['GUEST_CSUM']] },
  { bit: 'GUEST_TSO6', allOf: [['GUEST_CSUM']] },
  { bit: 'GUEST_ECN', allOf: [['GUEST_TSO4', 'GUEST_TSO6']] },
  { bit: 'GUEST_UFO', allOf: [['GUEST_CSUM']] },
  { bit: 'GUEST_USO4', allOf: [['GUEST_CSUM']] },
  { bit: 'GUEST_USO6', allOf: [['GUEST_CSUM']] },
  { bit: 'HOST_TSO4', allOf: [['CSUM']] },
  { bit: 'HOST_TSO6', allOf: [['CSUM']] },
  { bit: 'HOST_ECN', allOf: [['HOST_TSO4', 'HOST_TSO6']] },
  { bit: 'HOST_UFO', allOf: [['CSUM']] },
  { bit: 'HOST_USO', allOf: [['CSUM']] },
  { bit: 'CTRL_RX', allOf: [['CTRL_VQ']] },
  { bit: 'CTRL_VLAN', allOf: [['CTRL_VQ']] },
  { bit: 'GUEST_ANNOUNCE', allOf: [['CTRL_VQ']] },
  { bit: 'MQ', allOf: [['CTRL_VQ']] },
  { bit: 'CTRL_MAC_ADDR', allOf: [['CTRL_VQ']] },
  { bit: 'NOTF_COAL', allOf: [['CTRL_VQ']] },
  { bit: 'RSC_EXT', allOf: [['HOST_TSO4', 'HOST_TSO6']] },
  { bit: 'RSS', allOf: [['CTRL_VQ']] },
  { bit: 'VQ_NOTF_COAL', allOf: [['CTRL_VQ']] },
  { bit: 'HASH_TUNNEL', allOf: [['CTRL_VQ'], ['RSS', 'HASH_REPORT']] },
  { bit: 'RSS_CONTEXT', allOf: [['CTRL_VQ'], ['RSS']] },
];

/** One way a driver's accepted feature set breaks the rules. */
export type NetFeatureViolation =
  | { kind: 'not-offered'; feature: VirtioNetFeatureName }
  | {
      kind: 'missing-requirement';
      feature: VirtioNetFeatureName;
      /** Any one of these would satisfy the requirement. */
      needsOneOf: readonly VirtioNetFeatureName[];
    };

/**
 * Check a driver's acked virtio-net features: every acked bit must have been
 * offered (when `offered` is given) and every requirement met. An empty array
 * means the set is acceptable; a device answers anything else by refusing
 * FEATURES_OK. Bits outside the virtio-net range are ignored here (the
 * transport checks its own).
 */
export function validateNetFeatures(acked: bigint, offered?: bigint): NetFeatureViolation[] {
  const problems: NetFeatureViolation[] = [];
  if (offered !== undefined) {
    for (const name of Object.keys(VirtioNetF) as VirtioNetFeatureName[]) {
      if (hasNetFeature(acked, name) && !hasNetFeature(offered, name)) {
        problems.push({ kind: 'not-offered', feature: name });
      }
    }
  }
  for (const rule of REQUIREMENTS) {
    if (!hasNetFeature(acked, rule.bit)) continue;
    for (const group of rule.allOf) {
      if (!group.some((name) => hasNetFeature(acked, name))) {
        problems.push({ kind: 'missing-requirement', feature: rule.bit, needsOneOf: group });
      }
    }
  }
  return problems;
}

/** Human-readable form of a violation, for logs and error messages. */
export function describeNetFeatureViolation(v: NetFeatureViolation): string {
  return v.kind === 'not-offered'
    ? `driver acked ${v.feature}, which the device did not offer`
    : `${v.feature} requires ${v.needsOneOf.join(' or ')}`;
}
