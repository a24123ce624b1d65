// start_kernel: the boot of a pvkit guest, top to bottom, Mini-OS style.
// Each step brings up one subsystem from its own file, in an order where
// each needs only what came before.
import { ABI_VERSION_MAJOR, ABI_VERSION_MINOR, PAGE_SIZE, SHUTDOWN, VIRQ } from '@pvkit/hypercall';
import { APPS, splitCommand } from './apps/registry.ts';
import { type BootParams, Hypervisor, must } from './arch/hypervisor.ts';
import { Console, earlyPrintk } from './console.ts';
import { deviceName, probeDevices } from './devices.ts';
import './drivers.ts';
import { Events } from './events.ts';
import { initMm, type PageAllocator } from './mm.ts';
import { IDLE_MODES, type IdleMode, Scheduler } from './sched.ts';
import { readBootModule, readStartInfo, type StartInfo } from './start-info.ts';
import { AppExit, makeSys } from './syscalls.ts';
import { Time } from './time.ts';

export const KERNEL_VERSION = '0.1.0';
/** Every banner starts with this: the toolstack and benchmarks look for it. */
export const BANNER_PREFIX = 'pvkit guest kernel';

/** The kernel's subsystems, handed to drivers and apps' plumbing. */
export interface Kernel {
  hv: Hypervisor;
  info: StartInfo;
  events: Events;
  mm: PageAllocator;
  time: Time;
  console: Console;
  sched: Scheduler;
}

function banner(info: StartInfo, mm: PageAllocator, hv: Hypervisor): string[] {
  const devices = info.devices.map(deviceName).join(', ') || 'none';
  return [
    `${BANNER_PREFIX} ${KERNEL_VERSION} (ABI ${ABI_VERSION_MAJOR}.${ABI_VERSION_MINOR}) on domain ${info.name} (domid ${info.domid})`,
    `  memory: ${(info.nrPages * PAGE_SIZE) / 1048576} MiB, ${info.nrPages} pages: ${mm.reservedByVmm} reserved by the VMM, ${mm.reservedByKernel} by the kernel, ${mm.free} free${hv.ringMemory === hv.memory ? '' : ' (a WebAssembly.Memory: ring indexes through its atomics)'}`,
    `  vcpus: ${info.nrVcpus}; devices: ${devices}; cmdline: "${info.cmdline}"`,
  ];
}

export async function startKernel(boot: BootParams): Promise<void> {
  const hv = new Hypervisor(boot);
  const info = readStartInfo(hv.dv, boot.startInfo);
  if (typeof info === 'string') {
    earlyPrintk(hv, `pvkit: ${info}`);
    return hv.shutdown(SHUTDOWN.crash, 1);
  }

  // 1. Events: every port masked, upcalls masked until the idle loop blocks.
  const events = new Events(hv);
  // 2. Memory: the page allocator over this domain's RAM.
  const { mm, scratch } = initMm(hv, info.nrPages);
  // 3. Time: the system clock, VIRQ_TIMER (time area in the boot scratch page).
  const time = new Time(hv, events, scratch);
  // 4. Console, then the banner.
  const console = new Console(hv, mm.alloc(1));
  for (const line of banner(info, mm, hv)) console.printk(line);
  // 5. Scheduler, and the toolstack's shutdown request.
  const sched = new Scheduler(hv, events, time);
  const idle = /(?:^|\s)idle=(\S+)/.exec(info.cmdline)?.[1];
  if (idle !== undefined) {
    if ((IDLE_MODES as readonly string[]).includes(idle)) sched.idleMode = idle as IdleMode;
    else
      console.printk(`idle=${idle}: unknown, keeping idle=wait (modes: ${IDLE_MODES.join(', ')})`);
  }
  const kernel: Kernel = { hv, info, events, mm, time, console, sched };
  const shutdownPort = must('bind VIRQ shutdown_request', hv.bindVirq(VIRQ.shutdown_request));
  events.bind(shutdownPort, () => {
    console.printk('shutdown requested by the toolstack');
    sched.stop();
  });

  // 6. Devices and 7. apps, in the init task (probing may wait on events).
  const commands = readBootModule(hv.u8, info);
  let code = 0;
  sched.spawn('init', async () => {
    await probeDevices(kernel);
    code = await runApps(kernel, commands);
    return code;
  });
  try {
    await sched.run(commands.length === 0);
  } catch (e) {
    panic(kernel, e);
  }
  console.printk(`halting: exit code ${code}`);
  hv.shutdown(SHUTDOWN.poweroff, code);
}

/** Start every app as a task, wait for all; the first non-zero exit code wins. */
async function runApps(kernel: Kernel, commands: readonly string[]): Promise<number> {
  const { sched, console } = kernel;
  const tasks = commands.map((cmd, i) => {
    const [name, ...argv] = splitCommand(cmd);
    const app = APPS.get(name);
    return sched.spawn(`app${i}:${name}`, async () => {
      if (!app) {
        console.printk(`app ${i}: unknown app "${name}"`);
        return 127;
      }
      const err = app.check(argv);
      if (err) {
        console.printk(`app ${i}: ${name}: ${err} (usage: ${app.usage})`);
        return 2;
      }
      try {
        return (await app.main(makeSys(kernel, argv), argv)) ?? 0;
      } catch (e) {
        if (e instanceof AppExit) return e.code;
        throw new Error(`app "${cmd}" threw: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
  });
  let code = 0;
  for (const [i, t] of tasks.entries()) {
    const c = await sched.join(t);
    console.printk(`app ${i} (${commands[i]}) exited with ${c}`);
    if (code === 0) code = c;
  }
  return code;
}

/** A kernel can't go on: say why, then shutdown(crash). */
export function panic(kernel: Kernel, e: unknown): never {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  kernel.console.printk(`panic: ${msg}`);
  return kernel.hv.shutdown(SHUTDOWN.crash, 1);
}
