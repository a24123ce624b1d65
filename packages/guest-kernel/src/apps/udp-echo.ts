// udp-echo <port> [count]: send every datagram back where it came from
// (forever, or `count` datagrams), then report what was echoed.
import type { AppSpec } from './app.ts';
import { countArgError } from './app.ts';
import { addressedInterfaces, portArgError } from './net-args.ts';

export const udpEcho: AppSpec = {
  name: 'udp-echo',
  usage: 'udp-echo <port> [count]',
  about: 'echo UDP datagrams on a port (forever, or count of them)',
  check: (argv) => portArgError(argv[0]) ?? countArgError(argv[1], 'count'),
  async main(sys, argv) {
    const where = addressedInterfaces(sys, 'udp-echo');
    if (where === null) return 2;
    const port = Number(argv[0]);
    const count = argv[1] === undefined ? Number.POSITIVE_INFINITY : Number(argv[1]);
    const sock = sys.net.udp();
    const err = sock.bind(port);
    if (err !== null) {
      sys.print(`udp-echo: bind ${port}: ${err}`);
      return 1;
    }
    sys.print(`udp-echo: echoing on ${where} port ${port}`);
    const buf = new Uint8Array(65536);
    const from = { addr: 0, port: 0 };
    let echoed = 0;
    let bytes = 0;
    while (echoed < count) {
      const len = await sock.recvFrom(buf, from);
      if (typeof len !== 'number') continue;
      const r = await sock.sendTo(buf.subarray(0, Math.min(len, buf.length)), from.addr, from.port);
      if (typeof r === 'number') {
        echoed++;
        bytes += r;
      } else {
        sys.print(`udp-echo: sendto ${sys.net.formatIp(from.addr)}:${from.port}: ${r}`);
      }
    }
    sock.close();
    sys.print(`udp-echo: echoed ${echoed} datagrams, ${bytes} bytes`);
    return 0;
  },
};
