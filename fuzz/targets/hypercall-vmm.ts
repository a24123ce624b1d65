// Everything the hypercall target takes from the hypervisor's internals,
// in one file: the service is still being built on its own branch, and when
// a path or a signature moves, only this file should need to follow.
import { hostClockMs } from '../../packages/hypercall/src/index.ts';
import { buildGuestImage } from '../../packages/vmm/src/boot/guest-memory.ts';
import '../../packages/vmm/src/devices/builtin.ts'; // the register models a service worker knows
import type { DomainSetup, FromService } from '../../packages/vmm/src/service/protocol.ts';
import { Service } from '../../packages/vmm/src/service/service.ts';

export type { DomainSetup, FromService };
export { buildGuestImage, Service };

/**
 * One pass of the service over every mailbox, as its loop makes it. The
 * pass takes the host clock on main and reads it itself on the hv branch;
 * passing it to both is harmless.
 */
export function servicePass(svc: Service): void {
  const scan = svc.scan as unknown as (this: Service, now: number) => unknown;
  scan.call(svc, hostClockMs());
}
