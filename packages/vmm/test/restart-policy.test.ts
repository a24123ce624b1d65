// The "restart" key of a device entry: Docker's words, checked by the
// toolstack before the device type sees the entry (which never sees the key).
import { describe, expect, test } from 'vitest';
import { DEFAULT_MAX_RESTARTS, parseRestartPolicy, splitRestart } from '../src/config/restart.ts';
import { parseConfig } from '../src/index.ts';

describe('restart policy', () => {
  test('no, on-failure, on-failure:N', () => {
    expect(parseRestartPolicy(undefined)).toEqual({ maxRestarts: 0 });
    expect(parseRestartPolicy('no')).toEqual({ maxRestarts: 0 });
    expect(parseRestartPolicy('on-failure')).toEqual({ maxRestarts: DEFAULT_MAX_RESTARTS });
    expect(parseRestartPolicy('on-failure:7')).toEqual({ maxRestarts: 7 });
  });

  test('anything else is one clear line', () => {
    for (const bad of ['always', 'on-failure:0', 'on-failure:101', 'on-failure:x', 3, true])
      expect(parseRestartPolicy(bad)).toMatch(
        /^restart: .* is not a restart policy; expected "no"/,
      );
  });

  test('the key is taken off the entry; the device type validates the rest', () => {
    expect(splitRestart({ path: 'd.img', restart: 'on-failure' })).toEqual({
      entry: { path: 'd.img' },
      policy: { maxRestarts: DEFAULT_MAX_RESTARTS },
    });
    const cfg = parseConfig({
      name: 'r',
      disks: [{ path: ':memory:', size: '1M', restart: 'on-failure:2' }],
    });
    expect(cfg[0].disks[0].restart).toBe('on-failure:2');
    expect(() =>
      parseConfig({ name: 'r', disks: [{ path: ':memory:', size: '1M', restart: 'always' }] }),
    ).toThrow(/^domain\.disks\[0\]: restart: "always" is not a restart policy/);
    expect(() =>
      parseConfig({ name: 'r', nics: [{ backend: 'switch', switch: 's', restart: 'nope' }] }),
    ).toThrow(/^domain\.nics\[0\]: restart: "nope" is not a restart policy/);
  });
});
