// A virtio device that broke, brought back (VIRTIO 1.2 §2.1.2, §2.4): the
// device sets DEVICE_NEEDS_RESET (a queue broke, or its backend died) and
// raises an event; the driver fails what is in flight, writes 0 to Status,
// waits until Status reads 0 (the device has let go of the old rings: only
// then may their pages be reused), frees the old queues, and runs the whole
// init sequence again: feature negotiation, fresh queues, DRIVER_OK.
//
// This is the one place blk and net do it. A device whose backend is still
// gone fails that init at DRIVER_OK (pvkit's VMM keeps NEEDS_RESET up until
// the toolstack restarts the backend): the driver then stays down, keeps
// the device's event ports, and tries again at the next event on any of
// them, which is how the toolstack says "restarted" (Vmm.restartDevice).
//
// The work runs in a kernel task (it sleeps while Status drains), never in
// the upcall path; the task ends after each attempt, so a device that never
// comes back does not keep the kernel alive.
import { VIRTIO_MMIO } from '@pvkit/virtio-ring';
import type { Kernel } from '../../kernel.ts';
import type { DeviceInfo } from '../../start-info.ts';
import { deviceNeedsReset } from './device.ts';
import type { MmioRegisters } from './mmio.ts';

/** The longest a reset may take to read back 0 before the attempt is given up. */
const RESET_TIMEOUT_MS = 3000;
/** How often Status is read while it drains (each read is a trap). */
const RESET_POLL_MS = 1;

/** What a driver does at each step of a recovery. */
export interface RecoverableDevice {
  /** "virtio-blk: vda", for console lines. */
  readonly label: string;
  /** The device broke: fail everything in flight; new work waits or fails (the driver's choice). */
  down(why: string): void;
  /** Status read 0: the old queues are the driver's alone again. Free them (once per recovery). */
  release(): void;
  /** Run probeVirtio again and resume service on the new queues; throw if the device is not back. */
  reprobe(): MmioRegisters;
}

export type DeviceHealth = 'up' | 'down';

export class VirtioRecovery {
  state: DeviceHealth = 'up';
  /** Completed recoveries (the device came back this many times). */
  recoveries = 0;
  declare private regs: MmioRegisters;
  declare private readonly kernel: Kernel;
  declare private readonly dev: DeviceInfo;
  declare private readonly driver: RecoverableDevice;
  private running = false;
  private again = false;
  private released = false;

  constructor(kernel: Kernel, dev: DeviceInfo, regs: MmioRegisters, driver: RecoverableDevice) {
    this.kernel = kernel;
    this.dev = dev;
    this.regs = regs;
    this.driver = driver;
  }

  /**
   * An interrupt brought nothing to reclaim: ask Status (a trap) whether the
   * device needs a reset, and start the recovery if so. True when down.
   */
  check(): boolean {
    if (this.state === 'down') {
      this.kick();
      return true;
    }
    if (!deviceNeedsReset(this.regs)) return false;
    this.fail('the device needs a reset (DEVICE_NEEDS_RESET)');
    return true;
  }

  /** The device is unusable (NEEDS_RESET, or it lied in a used ring): take it down and recover. */
  fail(why: string): void {
    if (this.state === 'down') return;
    this.state = 'down';
    this.released = false;
    this.kernel.console.printk(`${this.driver.label}: ${why}; resetting the device`);
    this.driver.down(why);
    // While down, an event on any of the device's ports may mean "it is back".
    for (let i = 0; i < this.dev.nrQueues; i++)
      this.kernel.events.bind(this.dev.evtchn + i, () => this.kick());
    this.kick();
  }

  private kick(): void {
    if (this.state === 'up') return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.kernel.sched.spawn(`reset:${this.driver.label}`, async () => {
      try {
        do {
          this.again = false;
          if (await this.attempt()) break;
        } while (this.again);
      } finally {
        this.running = false;
      }
      return 0;
    });
  }

  /** One reset and init sequence; true when the device is up again. */
  private async attempt(): Promise<boolean> {
    const { console, time, sched } = this.kernel;
    const label = this.driver.label;
    this.regs.write(VIRTIO_MMIO.STATUS, 0);
    const until = time.nowNs() + RESET_TIMEOUT_MS * 1e6;
    // The spec's rule: the driver must not reuse the rings until Status reads 0.
    while (this.regs.read(VIRTIO_MMIO.STATUS) !== 0) {
      if (time.nowNs() >= until) {
        console.printk(`${label}: reset did not complete in ${RESET_TIMEOUT_MS} ms; waiting`);
        return false;
      }
      await sched.sleep(RESET_POLL_MS);
    }
    if (!this.released) {
      this.driver.release();
      this.released = true;
    }
    try {
      this.regs = this.driver.reprobe();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      console.printk(`${label}: re-probe failed (${msg}); waiting for the device to come back`);
      return false;
    }
    this.state = 'up';
    this.recoveries++;
    console.printk(`${label}: re-probed after a reset (recovery ${this.recoveries})`);
    return true;
  }
}
