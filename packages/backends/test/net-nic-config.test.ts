// "nics" entries: every mistake is one message naming the key, what is
// wrong and what would be right; good entries come out parsed.
import { describe, expect, test } from 'vitest';
import { NicConfigError, parseNicConfig } from '../src/net/nic-config.ts';

const err = (e: Record<string, unknown>) => {
  try {
    parseNicConfig(e);
    return null;
  } catch (x) {
    expect(x).toBeInstanceOf(NicConfigError);
    return (x as Error).message;
  }
};

describe('good entries', () => {
  test('switch, with MAC and address', () => {
    const c = parseNicConfig({
      backend: 'switch',
      switch: 'lan0',
      mac: '52:54:00:12:34:56',
      ip: '10.0.0.2/24',
    });
    expect(c.backend).toEqual({ kind: 'switch', switch: 'lan0' });
    expect([...(c.mac ?? [])]).toEqual([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    expect(c.ip).toEqual({ addr: 0x0a000002, prefix: 24 });
    expect(c.notifyByHypercall).toBe(false);
  });

  test('dgram (local port 0: any free port) and stream both ways', () => {
    expect(
      parseNicConfig({ backend: 'dgram', local: '127.0.0.1:0', remote: '127.0.0.1:10001' }).backend,
    ).toEqual({
      kind: 'dgram',
      local: { host: '127.0.0.1', port: 0 },
      remote: { host: '127.0.0.1', port: 10001 },
    });
    expect(parseNicConfig({ backend: 'stream', connect: '127.0.0.1:5555' }).backend).toEqual({
      kind: 'stream',
      mode: 'connect',
      addr: { host: '127.0.0.1', port: 5555 },
    });
    expect(parseNicConfig({ backend: 'stream', listen: '127.0.0.1:5555' }).backend).toMatchObject({
      mode: 'listen',
    });
    expect(
      parseNicConfig({ backend: 'switch', switch: 'x', notify: 'hypercall' }).notifyByHypercall,
    ).toBe(true);
  });
});

test.each([
  [{}, 'backend: must be "switch", "dgram" or "stream", got undefined'],
  [{ backend: 'tap' }, 'backend: must be "switch", "dgram" or "stream", got "tap"'],
  [{ backend: 'switch' }, 'switch: must name the switch'],
  [{ backend: 'switch', switch: 'a b' }, 'switch: must name the switch'],
  [
    { backend: 'switch', switch: 'lan0', remote: '127.0.0.1:1' },
    'unknown key "remote" for a switch NIC',
  ],
  [{ backend: 'dgram', local: '127.0.0.1:1' }, 'dgram needs "local" and "remote"'],
  [
    { backend: 'dgram', local: 'localhost:1', remote: '127.0.0.1:2' },
    'local: "localhost:1" is not an IPv4 address and port',
  ],
  [
    { backend: 'dgram', local: '127.0.0.1:1', remote: '127.0.0.1:0' },
    'remote: port "0" is not 1..65535',
  ],
  [
    { backend: 'dgram', local: '127.0.0.1:70000', remote: '127.0.0.1:2' },
    'local: port "70000" is not 0..65535',
  ],
  [{ backend: 'dgram', local: 5, remote: '127.0.0.1:2' }, 'local: must be a string'],
  [{ backend: 'stream' }, 'stream needs exactly one of "connect" or "listen"'],
  [{ backend: 'stream', connect: '127.0.0.1:1', listen: '127.0.0.1:2' }, 'exactly one of'],
  [{ backend: 'stream', listen: '127.0.0.1:x' }, 'listen: port "x" is not 1..65535'],
  [
    { backend: 'switch', switch: 'l', mac: '01:00:5e:00:00:01' },
    'mac: 01:00:5e:00:00:01 is a multicast or zero address',
  ],
  [{ backend: 'switch', switch: 'l', mac: '52:54:00' }, 'mac: must be six hex octets'],
  [
    { backend: 'switch', switch: 'l', ip: '10.0.0.2' },
    'ip: must be an address with a prefix length',
  ],
  [
    { backend: 'switch', switch: 'l', ip: '10.0.0.256/24' },
    'ip: "10.0.0.256" is not an IPv4 address',
  ],
  [{ backend: 'switch', switch: 'l', ip: '10.0.0.2/33' }, 'ip: prefix /33 is not 1..32'],
  [{ backend: 'switch', switch: 'l', ip: '10.0.0.255/24' }, 'network or broadcast address'],
  [{ backend: 'switch', switch: 'l', ip: '224.0.0.1/4' }, 'cannot be a host'],
  [{ backend: 'switch', switch: 'l', notify: 'irq' }, 'notify: must be "doorbell" or "hypercall"'],
])('%j', (entry, message) => {
  expect(err(entry)).toContain(message);
});
