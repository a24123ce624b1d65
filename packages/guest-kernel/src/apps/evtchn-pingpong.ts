// Two domains bounce an interdomain event N times: `serve` offers a port and
// echoes every event back; `ping` binds the offer, sends, waits for the echo,
// and reports the average round trip.
import type { Sys } from '../syscalls.ts';
import { type AppSpec, countArgError, peerArgError } from './app.ts';

function peerGone(sys: Sys, peer: number): number {
  sys.print(`evtchn-pingpong: domain ${peer} has ended`);
  return 1;
}

export const evtchnPingpong: AppSpec = {
  name: 'evtchn-pingpong',
  usage: 'evtchn-pingpong serve|ping <peer> [rounds]',
  about: 'bounce an interdomain event between two domains and report the round trip',
  check(argv) {
    if (argv[0] !== 'serve' && argv[0] !== 'ping') return 'first word must be "serve" or "ping"';
    if (argv.length > 3) return 'takes at most: serve|ping <peer> [rounds]';
    return peerArgError(argv[1]) ?? countArgError(argv[2], 'rounds');
  },
  async main(sys, argv) {
    const peer = Number(argv[1]);
    if (!Number.isInteger(peer)) {
      sys.print(`evtchn-pingpong: peer "${argv[1]}" was not resolved to a domid`);
      return 2;
    }
    const rounds = Number(argv[2] ?? 1000);
    if (argv[0] === 'serve') {
      const ch = sys.listen(peer);
      sys.print(`evtchn-pingpong: serving domain ${peer} on port ${ch.port}`);
      for (let i = 0; i < rounds; i++) {
        await ch.wait();
        if (!ch.send()) return peerGone(sys, peer);
      }
      sys.print(`evtchn-pingpong: echoed ${rounds} events`);
      return 0;
    }
    const ch = await sys.connect(peer);
    const t0 = sys.now();
    for (let i = 0; i < rounds; i++) {
      if (!ch.send()) return peerGone(sys, peer);
      await ch.wait();
    }
    const ns = ((sys.now() - t0) * 1e6) / rounds;
    sys.print(`evtchn-pingpong: ${rounds} round trips, ${ns.toFixed(0)} ns per round trip`);
    return 0;
  },
};
