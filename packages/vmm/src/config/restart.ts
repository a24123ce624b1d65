// The "restart" key of a device entry (disks and NICs alike): what the
// toolstack does when the device's backend worker dies. Docker's words:
//
//   "no"             (default) the device stays broken until Vmm.restartDevice
//   "on-failure"     restart it automatically, at most DEFAULT_MAX_RESTARTS times
//   "on-failure:N"   at most N times (1..100) in the domain's life
//
// The key belongs to the toolstack, not to the device type: it is taken off
// the entry before the type's own validation and attach see it.

export interface RestartPolicy {
  /** Automatic restarts allowed in the domain's life (0: none). */
  maxRestarts: number;
}

export const DEFAULT_MAX_RESTARTS = 3;
const MAX_RESTARTS_LIMIT = 100;

export const NO_RESTART: RestartPolicy = { maxRestarts: 0 };

/** The policy a "restart" value asks for, or what is wrong with it. */
export function parseRestartPolicy(v: unknown): RestartPolicy | string {
  if (v === undefined || v === 'no') return NO_RESTART;
  if (v === 'on-failure') return { maxRestarts: DEFAULT_MAX_RESTARTS };
  const m = typeof v === 'string' ? /^on-failure:(\d+)$/.exec(v) : null;
  const n = m ? Number(m[1]) : Number.NaN;
  if (n >= 1 && n <= MAX_RESTARTS_LIMIT) return { maxRestarts: n };
  return `restart: ${JSON.stringify(v)} is not a restart policy; expected "no", "on-failure" or "on-failure:N" (N in 1..${MAX_RESTARTS_LIMIT})`;
}

/** A device entry without its "restart" key, and the policy it named. */
export function splitRestart(entry: Record<string, unknown>): {
  entry: Record<string, unknown>;
  policy: RestartPolicy | string;
} {
  if (!('restart' in entry)) return { entry, policy: NO_RESTART };
  const { restart, ...rest } = entry;
  return { entry: rest, policy: parseRestartPolicy(restart) };
}
