// Restarting a device's backend (issue 7): the worker that served a disk or
// NIC died (or is to be replaced); a fresh one is started with the same
// config (same image file, same switch or wire), on the same control block,
// doorbells and event ports, and the guest is told to re-probe.
//
// The order matters, because the guest's driver may be anywhere in its
// own recovery when this runs:
//
//   1. the old backend is stopped (a dead one only awaited): nothing of it
//      touches the old rings any more;
//   2. every queue is marked "backend down" (DeviceControl.setBackendDown)
//      and the guest signalled: Status shows DEVICE_NEEDS_RESET, even across
//      the driver's resets, so the driver fails what was in flight, and a
//      re-probe now fails at DRIVER_OK and waits. The stop word is cleared;
//   3. the device type attaches a fresh backend with the context of the
//      first attach. Its queue backends read the control block but bind to
//      no queue the driver set up before the break (snapshot.needsReset):
//      only to the queues of the driver's next DRIVER_OK;
//   4. "backend down" is cleared and queue 0's event raised: the driver's
//      config-change signal. It resets the device (Status reads 0), runs the
//      init sequence again, and the new backend serves the new queues.
//
// Counters start again from zero with the new backend.
import { raiseEvent } from '@pvkit/hypercall';
import { deviceBackendFor } from '../devices/registry.ts';
import type { Domain } from './domain.ts';

export class DeviceRestartError extends Error {
  override name = 'DeviceRestartError';
}

/** Restarts in progress, per domain and device: a second one waits for the first. */
const pending = new WeakMap<Domain, Map<number, Promise<void>>>();

/** Index in `dom.devices` of "vda" / "eth0" / a plain index; a clear error otherwise. */
export function findDevice(dom: Domain, which: string | number): number {
  const names = dom.devices.map((d, i) => d.name ?? `device ${i}`);
  const i =
    typeof which === 'number'
      ? Number.isInteger(which) && which >= 0 && which < dom.devices.length
        ? which
        : -1
      : names.indexOf(which);
  if (i < 0)
    throw new DeviceRestartError(
      `${dom.name}: no device ${JSON.stringify(which)} (devices: ${names.join(', ') || 'none'})`,
    );
  return i;
}

function assertAlive(dom: Domain, what: string): void {
  if (!dom.alive)
    throw new DeviceRestartError(
      `${dom.name}: the domain has ended (${dom.state}); cannot restart ${what}`,
    );
}

/** Stop (or bury) the backend of one device, start a fresh one, and signal the guest. */
export async function restartDevice(dom: Domain, which: string | number): Promise<void> {
  assertAlive(dom, String(which));
  const i = findDevice(dom, which);
  let mine = pending.get(dom);
  if (!mine) pending.set(dom, (mine = new Map()));
  const before = mine.get(i) ?? Promise.resolve();
  const run = before.catch(() => undefined).then(() => restartNow(dom, i));
  const tail = run.catch(() => undefined);
  mine.set(i, tail);
  void tail.then(() => {
    if (mine.get(i) === tail) mine.delete(i);
  });
  return run;
}

async function restartNow(dom: Domain, i: number): Promise<void> {
  const old = dom.devices[i];
  const name = old.name ?? `device ${i}`;
  assertAlive(dom, name);
  const ctx = dom.deviceContexts[i];
  const type = deviceBackendFor(dom.deviceKeys[i]);
  if (!ctx || !type) throw new DeviceRestartError(`${dom.name}: ${name} cannot be restarted`);
  const queues = ctx.control.nrQueues;
  const signal = () => raiseEvent(new Int32Array(ctx.memory), ctx.evtchn);
  // Stopped first: once a queue is marked down, the driver's reset no longer
  // waits for its backend to let go of the rings, so none may hold them.
  await old.detach();
  for (let q = 0; q < queues; q++) ctx.control.setBackendDown(q);
  signal(); // requests in flight on the old backend fail now, instead of waiting for it
  ctx.control.clearStop();
  let fresh: Awaited<ReturnType<typeof type.attach>>;
  try {
    fresh = await type.attach(ctx);
  } catch (e) {
    ctx.log(`${name}: backend restart failed: ${e instanceof Error ? e.message : String(e)}`);
    throw new DeviceRestartError(
      `${dom.name}: ${name}: restart failed: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!dom.alive) {
    // Torn down meanwhile: its teardown detached the old attachment, not this one.
    await fresh.detach();
    assertAlive(dom, name);
  }
  dom.devices[i] = fresh;
  ctx.control.clearBackendDown();
  ctx.log(`${name}: backend restarted; the guest must reset the device`);
  signal();
}

/**
 * A backend died on its own: restart it if its "restart" policy allows one
 * more (../config/restart.ts); say on the console either way.
 */
export function restartOnFailure(dom: Domain, i: number): void {
  const policy = dom.restartPolicies[i];
  const ctx = dom.deviceContexts[i];
  if (!policy || !ctx || !dom.alive || policy.maxRestarts === 0) return;
  const name = dom.devices[i]?.name ?? `device ${i}`;
  const done = dom.autoRestarts[i] ?? 0;
  if (done >= policy.maxRestarts) {
    ctx.log(`${name}: backend died again; not restarting it (restart limit ${policy.maxRestarts})`);
    return;
  }
  dom.autoRestarts[i] = done + 1;
  ctx.log(
    `${name}: restarting the backend (restart: on-failure, ${done + 1} of ${policy.maxRestarts})`,
  );
  restartDevice(dom, i).catch((e: unknown) => {
    if (dom.alive)
      ctx.log(`${name}: automatic restart failed: ${e instanceof Error ? e.message : String(e)}`);
  });
}
