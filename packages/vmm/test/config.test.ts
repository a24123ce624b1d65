// Domain configs: what is accepted, and one clear line for what is not.

import { DEVICE_TYPE } from '@pvkit/hypercall';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  ConfigError,
  type DeviceBackendType,
  deviceBackendFor,
  parseConfig,
  parseMemorySize,
  registerDeviceBackend,
  unregisterDeviceBackend,
} from '../src/index.ts';

const err = (raw: unknown) => {
  try {
    parseConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('config was accepted');
};

describe('accepted configs', () => {
  test('one domain with defaults', () => {
    expect(parseConfig({ name: 'a' })).toEqual([
      { name: 'a', memory: 64 << 20, vcpus: 1, cmdline: '', apps: [], disks: [], nics: [] },
    ]);
  });

  test('several domains, apps naming each other', () => {
    const c = parseConfig({
      domains: [
        { name: 'ping', memory: '16M', apps: ['evtchn-pingpong ping @pong 10'] },
        { name: 'pong', memory: 16, apps: ['evtchn-pingpong serve @ping'] },
      ],
    });
    expect(c.map((d) => [d.name, d.memory])).toEqual([
      ['ping', 16 << 20],
      ['pong', 16 << 20],
    ]);
  });

  test('watchdog: off unless given; seconds, ms or minutes', () => {
    expect(parseConfig({ name: 'a' })[0].watchdog).toBeUndefined();
    const ms = (w: unknown) => parseConfig({ name: 'a', watchdog: w })[0].watchdog;
    expect(ms('10s')).toBe(10_000);
    expect(ms('250ms')).toBe(250);
    expect(ms('2m')).toBe(120_000);
    expect(ms(1.5)).toBe(1500);
  });

  test('memory sizes', () => {
    expect(parseMemorySize('512K')).toBe(512 << 10);
    expect(parseMemorySize('1G')).toBe(1 << 30);
    expect(parseMemorySize('64MiB')).toBe(64 << 20);
    expect(parseMemorySize(32)).toBe(32 << 20);
  });
});

describe('rejected configs: which key, what is wrong, what would be right', () => {
  test.each([
    [{ name: 'a', memroy: '1M' }, 'domain: unknown key "memroy" (did you mean "memory"?)'],
    [{ memory: '1M' }, 'domain.name: must be a string'],
    [{ name: 'a b' }, 'domain.name: must be a string of letters'],
    [{ name: 'a', memory: '64 megs' }, 'domain.memory: must look like "64M"'],
    [{ name: 'a', memory: '12K' }, 'domain.memory: must be at least 256K'],
    [{ name: 'a', memory: '3G' }, 'domain.memory: must be at most 2G'],
    [{ name: 'a', memory: 1.5 }, 'domain.memory: must be a positive whole number of MiB'],
    [{ name: 'a', vcpus: 2 }, 'domain.vcpus: pvkit runs 1 vCPU per domain for now, got 2'],
    [{ name: 'a', cmdline: 7 }, 'domain.cmdline: must be a string'],
    [{ name: 'a', cmdline: 'x'.repeat(1024) }, 'domain.cmdline: must be shorter than 1024 bytes'],
    [{ name: 'a', apps: 'hello' }, 'domain.apps: must be an array of command strings'],
    [
      { name: 'a', apps: ['helo'] },
      'domain.apps[0]: unknown app "helo"; built-in apps: hello, sleep',
    ],
    [{ name: 'a', apps: ['sleep'] }, 'domain.apps[0]: sleep: needs one number of seconds'],
    [{ name: 'a', apps: ['sleep x'] }, '(usage: sleep <seconds>)'],
    [{ name: 'a', apps: [''] }, 'domain.apps[0]: empty command'],
    [
      { name: 'a', apps: ['evtchn-pingpong ping @b'] },
      'domain.apps[0]: "@b" names no domain of this config (have: a)',
    ],
    [{ name: 'a', disks: {} }, 'domain.disks: must be an array of objects'],
    [{ name: 'a', nics: [{}] }, 'domain.nics[0]: backend: must be "switch", "dgram" or "stream"'],
    [
      { name: 'a', nics: [{ backend: 'switch', switch: 'lan0', ip: '10.0.0.0/24' }] },
      'domain.nics[0]: ip: 10.0.0.0 is the network or broadcast address of its /24',
    ],
    [{ name: 'a', watchdog: 'soon' }, 'domain.watchdog: must look like "10s", "500ms" or "2m"'],
    [{ name: 'a', watchdog: '10' }, 'domain.watchdog: must look like "10s"'],
    [{ name: 'a', watchdog: true }, 'domain.watchdog: must be a duration such as "10s"'],
    [{ name: 'a', watchdog: -1 }, 'domain.watchdog: must be a positive number of seconds'],
    [{ name: 'a', watchdog: '1ms' }, 'domain.watchdog: must be from 50 ms to 24 h, got "1ms"'],
    [{ name: 'a', watchdg: '1s' }, 'unknown key "watchdg" (did you mean "watchdog"?)'],
    [{ domains: [] }, 'domains: must be a non-empty array'],
    [{ domains: [{ name: 'a' }, { name: 'a' }] }, 'domains[1].name: "a" is used twice'],
    [{ domains: [{ name: 'a' }], extra: 1 }, 'unknown top-level key "extra"'],
    [[1, 2], 'domain: must be an object'],
  ])('%j', (raw, expected) => {
    expect(err(raw)).toContain(expected);
  });
});

describe('device keys go to the backend registered for them', () => {
  // A fake "disks" backend stands in for the real one, which is put back after.
  let real: DeviceBackendType | undefined;
  beforeEach(() => {
    real = deviceBackendFor('disks');
    unregisterDeviceBackend('disks');
  });
  afterEach(() => {
    unregisterDeviceBackend('disks');
    if (real) registerDeviceBackend(real);
  });

  test('each entry is validated by the backend, and passed through', () => {
    registerDeviceBackend({
      key: 'disks',
      deviceType: DEVICE_TYPE.blk,
      validate: (e) => (typeof e.path === 'string' ? null : 'path: must be the image file'),
      nrQueues: () => 1,
      attach: async () => ({ detach: async () => {} }),
    });
    expect(parseConfig({ name: 'a', disks: [{ path: 'x.img', extra: true }] })[0].disks).toEqual([
      { path: 'x.img', extra: true },
    ]);
    expect(err({ name: 'a', disks: [{ path: 'x.img' }, { size: 1 }] })).toBe(
      'domain.disks[1]: path: must be the image file',
    );
    expect(err({ name: 'a', disks: [3] })).toBe('domain.disks[0]: must be an object');
  });
});
