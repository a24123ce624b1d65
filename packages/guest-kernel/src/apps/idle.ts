// idle [seconds]: stay up while the stack answers ARP and ICMP (in the rx
// interrupt: no app work needed), until the toolstack shuts the domain down
// or the time is up; then print what the interfaces saw.
import type { AppSpec } from './app.ts';
import { secondsArgError } from './net-args.ts';

export const idle: AppSpec = {
  name: 'idle',
  usage: 'idle [seconds]',
  about: 'stay up answering ARP and ICMP until shut down (or for the given time)',
  check: (argv) => secondsArgError(argv[0], 'seconds'),
  async main(sys, argv) {
    const names = sys.net
      .interfaces()
      .map((i) => `${i.name} ${i.ip ?? '(no address)'}`)
      .join(', ');
    const seconds = argv[0] === undefined ? null : Number(argv[0]);
    sys.print(
      `idle: up on ${names || 'no interface'}; ${seconds === null ? 'until shut down' : `for ${seconds} s`}`,
    );
    if (seconds === null) for (;;) await sys.sleep(3_600_000);
    await sys.sleep(seconds * 1000);
    for (const i of sys.net.interfaces()) {
      const s = i.stats;
      if (s === null) continue;
      sys.print(
        `idle: ${i.name}: rx ${s.rxFrames} frames, tx ${s.txFrames}, arp requests in ${s.arpRequestsIn}, ` +
          `arp replies sent ${s.arpRepliesSent}, echo requests in ${s.icmpEchoRequestsIn}, echo replies sent ${s.icmpEchoRepliesOut}`,
      );
    }
    return 0;
  },
};
