// An in-thread hypervisor service for unit tests: real guest memory and
// mailboxes, the real Service and handlers, traps driven by hand (no threads).
import {
  createMailbox,
  DOMAIN_COUNTERS_BYTES,
  hostClockMs,
  MAILBOX,
  MAILBOX_STATE,
  readI64,
  SERVICE_COUNTERS_BYTES,
  writeI64,
} from '@pvkit/hypercall';
import { buildGuestImage } from '../src/boot/guest-memory.ts';
import type { FromService } from '../src/service/protocol.ts';
import { Service } from '../src/service/service.ts';

export interface TestDomain {
  domid: number;
  memory: SharedArrayBuffer;
  words: Int32Array;
  dv: DataView;
  mailbox: Int32Array;
  counters: Float64Array;
  /** Publish a trap and run one service pass; the result, or null if unanswered. */
  call(nr: number, ...args: number[]): number | null;
}

export function rig() {
  const posted: FromService[] = [];
  const timeBaseMs = hostClockMs();
  const svc = new Service(
    timeBaseMs,
    new Float64Array(new SharedArrayBuffer(SERVICE_COUNTERS_BYTES)),
    (m) => posted.push(m),
  );
  function domain(domid: number, bytes = 1 << 20): TestDomain {
    const image = buildGuestImage({
      domid,
      name: `d${domid}`,
      bytes,
      nrVcpus: 1,
      cmdline: '',
      apps: [],
      devices: [],
      timeBaseMs,
    });
    const mbx = createMailbox();
    const counters = new SharedArrayBuffer(DOMAIN_COUNTERS_BYTES);
    svc.control({
      t: 'create',
      setup: {
        domid,
        name: `d${domid}`,
        memory: image.memory,
        mailboxes: [mbx],
        counters,
        reservedBytes: image.reservedBytes,
        devices: [],
      },
    });
    const m = new Int32Array(mbx);
    return {
      domid,
      memory: image.memory,
      words: new Int32Array(image.memory),
      dv: new DataView(image.memory),
      mailbox: m,
      counters: new Float64Array(counters),
      call(nr, ...args) {
        m[MAILBOX.nr] = nr;
        for (let i = 0; i < 6; i++) writeI64(m, MAILBOX.args + 2 * i, args[i] ?? 0);
        Atomics.store(m, MAILBOX.state, MAILBOX_STATE.request);
        svc.scan();
        svc.settle();
        if (Atomics.load(m, MAILBOX.state) !== MAILBOX_STATE.done) return null;
        return readI64(m, MAILBOX.result);
      },
    };
  }
  return { svc, posted, domain, timeBaseMs };
}
