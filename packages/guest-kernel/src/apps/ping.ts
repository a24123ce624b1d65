// ping <ip> [count] [interval-ms]: ICMP echo through a ping socket, printed
// the way iputils ping prints it, ending with loss and RTT min/avg/max.
// Exit code 0 when at least one reply came back, 1 otherwise (as ping).
import { PING_DEFAULT_PAYLOAD } from '../net/index.ts';
import type { AppSpec } from './app.ts';
import { countArgError } from './app.ts';
import { addressedInterfaces, ipArgError, ms3 } from './net-args.ts';

/** How long to wait for each reply at least (a first ping may wait for ARP). */
const REPLY_WAIT_MS = 1000;

export const ping: AppSpec = {
  name: 'ping',
  usage: 'ping <ip> [count] [interval-ms]',
  about: 'send ICMP echo requests (default 4, one per second); print RTTs and loss',
  check: (argv) =>
    ipArgError(argv[0]) ?? countArgError(argv[1], 'count') ?? countArgError(argv[2], 'interval'),
  async main(sys, argv) {
    if (addressedInterfaces(sys, 'ping') === null) return 2;
    const dstText = argv[0];
    const dst = sys.net.parseIp(dstText) as number;
    const count = Number(argv[1] ?? 4);
    const interval = Number(argv[2] ?? 1000);
    const sock = sys.net.ping();
    const payload = PING_DEFAULT_PAYLOAD;
    sys.print(`PING ${dstText} ${payload}(${payload + 28}) bytes of data.`);
    const rtts: number[] = [];
    let sent = 0;
    for (let seq = 1; seq <= count; seq++) {
      const t0 = sys.now();
      const r = sock.send(dst, seq, payload);
      if (typeof r !== 'number') {
        sys.print(`ping: sendmsg: ${r}`);
      } else {
        sent++;
        const until = t0 + Math.max(interval, REPLY_WAIT_MS);
        for (;;) {
          const reply = await sock.recv(Math.max(0, until - sys.now()));
          if (reply === null) break;
          if (reply.seq !== seq || reply.rttMs === null) continue; // a late one
          rtts.push(reply.rttMs);
          const bad = reply.payloadOk ? '' : ' (BAD PAYLOAD)';
          sys.print(
            `${reply.bytes} bytes from ${sys.net.formatIp(reply.from)}: icmp_seq=${seq} ttl=${reply.ttl} time=${ms3(reply.rttMs)} ms${bad}`,
          );
          break;
        }
      }
      const rest = t0 + interval - sys.now();
      if (seq < count && rest > 0) await sys.sleep(rest);
    }
    sock.close();
    const lost = sent === 0 ? 100 : Math.round(((sent - rtts.length) / sent) * 100);
    sys.print(`--- ${dstText} ping statistics ---`);
    sys.print(`${sent} packets transmitted, ${rtts.length} received, ${lost}% packet loss`);
    if (rtts.length > 0) {
      const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
      sys.print(
        `rtt min/avg/max = ${ms3(Math.min(...rtts))}/${ms3(avg)}/${ms3(Math.max(...rtts))} ms`,
      );
    }
    return rtts.length > 0 ? 0 : 1;
  },
};
