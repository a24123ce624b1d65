import { describe, expect, test } from 'vitest';
import {
  decodeNetConfig,
  deriveMac,
  describeNetFeatureViolation,
  encodeNetConfig,
  formatMac,
  hasNetFeature,
  macEquals,
  macFromKey,
  macIsBroadcast,
  macIsMulticast,
  macToKey,
  NET_CONFIG_SIZE,
  netCtrlQueueIndex,
  netFeatures,
  netLinkUp,
  netQueueCount,
  netQueuePairs,
  netQueueRole,
  netRxQueueIndex,
  netTxQueueIndex,
  parseMac,
  VIRTIO_NET_DEVICE_ID,
  VirtioNetF,
  VirtioNetStatus,
  validateNetConfig,
  validateNetFeatures,
} from '../src/index.ts';

describe('virtio-net features', () => {
  test('device ID and bit numbers are the spec values', () => {
    expect(VIRTIO_NET_DEVICE_ID).toBe(1);
    expect(VirtioNetF.CSUM).toBe(0);
    expect(VirtioNetF.MAC).toBe(5);
    expect(VirtioNetF.MRG_RXBUF).toBe(15);
    expect(VirtioNetF.STATUS).toBe(16);
    expect(VirtioNetF.MQ).toBe(22);
    expect(netFeatures('CSUM', 'GUEST_CSUM', 'MTU')).toBe(0b1011n);
    expect(hasNetFeature(1n << 64n, 'RSS_CONTEXT')).toBe(true);
  });

  test('dependency rules: each missing requirement is named', () => {
    expect(validateNetFeatures(netFeatures('CSUM', 'HOST_TSO4', 'MAC'))).toEqual([]);
    expect(validateNetFeatures(netFeatures('HOST_TSO4'))).toEqual([
      { kind: 'missing-requirement', feature: 'HOST_TSO4', needsOneOf: ['CSUM'] },
    ]);
    expect(validateNetFeatures(netFeatures('GUEST_TSO6'))[0]).toMatchObject({
      feature: 'GUEST_TSO6',
      needsOneOf: ['GUEST_CSUM'],
    });
    expect(validateNetFeatures(netFeatures('MQ', 'CTRL_RX')).map((v) => v.feature)).toEqual([
      'CTRL_RX',
      'MQ',
    ]);
    // ECN is satisfied by either TSO bit.
    expect(validateNetFeatures(netFeatures('CSUM', 'HOST_TSO6', 'HOST_ECN'))).toEqual([]);
    expect(validateNetFeatures(netFeatures('CSUM', 'HOST_ECN'))[0]).toMatchObject({
      needsOneOf: ['HOST_TSO4', 'HOST_TSO6'],
    });
    // Two groups: CTRL_VQ and (RSS or HASH_REPORT).
    expect(validateNetFeatures(netFeatures('HASH_TUNNEL')).length).toBe(2);
  });

  test('acked bits must have been offered', () => {
    const offered = netFeatures('MAC', 'STATUS');
    const problems = validateNetFeatures(netFeatures('MAC', 'CSUM'), offered);
    expect(problems).toEqual([{ kind: 'not-offered', feature: 'CSUM' }]);
    expect(describeNetFeatureViolation(problems[0])).toMatch(/CSUM.*did not offer/);
  });
});

describe('virtio-net config space', () => {
  const cfg = {
    mac: new Uint8Array([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
    status: VirtioNetStatus.LINK_UP,
    maxVirtqueuePairs: 1,
    mtu: 1500,
  };

  test('encodes at the spec offsets and decodes back', () => {
    const out = new Uint8Array(4 + NET_CONFIG_SIZE);
    encodeNetConfig(cfg, out, 4);
    expect([...out.subarray(4)]).toEqual([0x52, 0x54, 0, 0x12, 0x34, 0x56, 1, 0, 1, 0, 0xdc, 0x05]);
    expect(decodeNetConfig(out, 4)).toEqual(cfg);
  });

  test('invalid configs are refused with a reason', () => {
    expect(validateNetConfig({ ...cfg, mtu: 67 })).toBe('mtu-out-of-range');
    expect(validateNetConfig({ ...cfg, maxVirtqueuePairs: 0 })).toBe(
      'max-virtqueue-pairs-out-of-range',
    );
    expect(validateNetConfig({ ...cfg, mac: new Uint8Array(5) })).toBe('mac-not-6-bytes');
    expect(() => encodeNetConfig({ ...cfg, mtu: 70000 }, new Uint8Array(12))).toThrow(/mtu/);
    expect(() => encodeNetConfig(cfg, new Uint8Array(11))).toThrow(RangeError);
    expect(() => decodeNetConfig(new Uint8Array(11))).toThrow(RangeError);
  });

  test('link status is read only when STATUS was acked', () => {
    expect(netLinkUp(0n, 0)).toBe(true);
    expect(netLinkUp(netFeatures('STATUS'), 0)).toBe(false);
    expect(netLinkUp(netFeatures('STATUS'), VirtioNetStatus.LINK_UP)).toBe(true);
  });
});

describe('virtio-net queue numbering', () => {
  test('rx 2p, tx 2p+1, control 2N', () => {
    expect([netRxQueueIndex(0), netTxQueueIndex(0), netCtrlQueueIndex(1)]).toEqual([0, 1, 2]);
    expect([netRxQueueIndex(3), netTxQueueIndex(3), netCtrlQueueIndex(4)]).toEqual([6, 7, 8]);
  });

  test('pairs come from config only with MQ or RSS', () => {
    expect(netQueuePairs(0n, 4)).toBe(1);
    expect(netQueuePairs(netFeatures('CTRL_VQ', 'MQ'), 4)).toBe(4);
    expect(netQueueCount(0n, 1)).toBe(2);
    expect(netQueueCount(netFeatures('CTRL_VQ'), 1)).toBe(3);
  });

  test('netQueueRole names each queue and rejects the rest', () => {
    expect(netQueueRole(0, 2, true)).toEqual({ kind: 'rx', pair: 0 });
    expect(netQueueRole(3, 2, true)).toEqual({ kind: 'tx', pair: 1 });
    expect(netQueueRole(4, 2, true)).toEqual({ kind: 'ctrl' });
    expect(netQueueRole(4, 2, false)).toBeNull();
    expect(netQueueRole(-1, 2, true)).toBeNull();
    expect(netQueueRole(1.5, 2, true)).toBeNull();
  });
});

describe('MAC helpers', () => {
  test('parse, format and key round-trip', () => {
    const mac = parseMac('52:54:00:AB:cd:EF')!;
    expect(formatMac(mac)).toBe('52:54:00:ab:cd:ef');
    expect(macFromKey(macToKey(mac))).toEqual(mac);
    expect(macToKey(new Uint8Array(6).fill(0xff))).toBe(2 ** 48 - 1);
    expect(parseMac('52:54:00:ab:cd')).toBeNull();
    expect(parseMac('52:54:00:ab:cd:zz')).toBeNull();
    expect(parseMac('52-54-00-ab-cd-ef')).toEqual(mac);
  });

  test('broadcast, multicast and equality', () => {
    const bcast = new Uint8Array(6).fill(0xff);
    expect(macIsBroadcast(bcast)).toBe(true);
    expect(macIsMulticast(bcast)).toBe(true);
    expect(macIsMulticast(new Uint8Array([0x01, 0, 0x5e, 0, 0, 1]))).toBe(true);
    expect(macIsMulticast(new Uint8Array([0x52, 0, 0, 0, 0, 1]))).toBe(false);
    const frame = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5]);
    expect(macEquals(frame, 0, frame, 8)).toBe(true);
    expect(macEquals(frame, 0, frame, 1)).toBe(false);
  });

  test('deriveMac: stable, locally administered, unicast, name-dependent', () => {
    const names = Array.from({ length: 200 }, (_, i) => `guest-${i}`);
    const macs = names.map(deriveMac);
    for (const mac of macs) {
      expect(mac[0] & 0x02).toBe(0x02);
      expect(mac[0] & 0x01).toBe(0);
    }
    expect(deriveMac('guest-7')).toEqual(macs[7]);
    expect(new Set(macs.map((m) => formatMac(m))).size).toBe(names.length);
    expect(formatMac(deriveMac('dom0'))).toBe(formatMac(deriveMac('dom0')));
  });
});
