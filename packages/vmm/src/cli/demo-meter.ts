// The demo's figures: counters sampled every few ms, so that blk MB/s and
// net packets/s are measured over the time each device was busy, not over
// the whole run (a guest boots, verifies, then waits for its peer).
import type { Domain, DomainStats } from '../toolstack/domain.ts';
import { blkBytes, compact, netPackets, totalInterrupts, totalKicks } from './rates.ts';

interface Activity {
  blk: number;
  blkBusyMs: number;
  net: number;
  netBusyMs: number;
}

export class ActivityMeter {
  private readonly seen = new Map<number, Activity>();
  private lastMs = performance.now();

  sample(domains: readonly Domain[]): void {
    const now = performance.now();
    const dt = now - this.lastMs;
    this.lastMs = now;
    for (const d of domains) {
      const s = d.stats();
      const a = this.seen.get(d.domid) ?? { blk: 0, blkBusyMs: 0, net: 0, netBusyMs: 0 };
      const blk = blkBytes(s);
      const net = netPackets(s);
      if (blk > a.blk) a.blkBusyMs += dt;
      if (net > a.net) a.netBusyMs += dt;
      a.blk = blk;
      a.net = net;
      this.seen.set(d.domid, a);
    }
  }

  /** MB/s and packets/s while busy (0 when the device never moved anything). */
  rates(domid: number): { blkMBs: number; netPps: number } {
    const a = this.seen.get(domid);
    if (!a) return { blkMBs: 0, netPps: 0 };
    return {
      blkMBs: a.blkBusyMs > 0 ? a.blk / 1e6 / (a.blkBusyMs / 1000) : 0,
      netPps: a.netBusyMs > 0 ? a.net / (a.netBusyMs / 1000) : 0,
    };
  }
}

function outcome(d: Domain): string {
  if (d.alive) return d.state;
  const e = d.exit;
  if (e?.reason === 'crash') return 'CRASHED';
  if (e?.reason === 'watchdog') return 'WATCHDOG';
  if (e?.reason === 'destroyed') return 'destroyed';
  return e?.code === 0 ? 'ok' : `FAILED (exit ${e?.code})`;
}

const cols = (cells: (string | number)[], widths: number[]) =>
  cells
    .map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
    .join(' ');

const WIDTHS = [8, 12, 11, 8, 8, 11, 8, 9, 9, 10];

/** While it runs: one line per guest. */
export function progressLines(
  domains: readonly Domain[],
  elapsedS: number,
  net: boolean,
): string[] {
  return [
    `pvkit demo: ${elapsedS.toFixed(1)} s (Ctrl-C stops it and removes its files)`,
    ...domains.map((d) => {
      const s = d.stats();
      return `  ${d.name.padEnd(8)} ${outcome(d).padEnd(10)} ${compact(s.hypercalls).padStart(7)} hypercalls, blk ${(blkBytes(s) / 1e6).toFixed(1)} MB${net ? `, net ${netPackets(s)} packets` : ''}`;
    }),
  ];
}

/** At the end: a row per domain, then each domain's hypercalls by call. */
export function summaryLines(
  domains: readonly Domain[],
  meter: ActivityMeter,
  elapsedS: number,
): string[] {
  const stats: DomainStats[] = domains.map((d) => d.stats());
  const lines = [
    `== pvkit demo: ${domains.length} guests, ${elapsedS.toFixed(1)} s`,
    cols(
      [
        'domain',
        'result',
        'hypercalls',
        'events',
        'kicks',
        'interrupts',
        'blk MB',
        'blk MB/s',
        'net pkts',
        'net pkt/s',
      ],
      WIDTHS,
    ),
  ];
  domains.forEach((d, i) => {
    const s = stats[i];
    const r = meter.rates(d.domid);
    lines.push(
      cols(
        [
          d.name,
          outcome(d),
          s.hypercalls,
          s.eventsDelivered,
          totalKicks(s),
          totalInterrupts(s),
          (blkBytes(s) / 1e6).toFixed(1),
          r.blkMBs ? r.blkMBs.toFixed(0) : '-',
          netPackets(s),
          r.netPps ? r.netPps.toFixed(0) : '-',
        ],
        WIDTHS,
      ),
    );
  });
  lines.push('hypercalls by call:');
  domains.forEach((d, i) => {
    const calls = [...stats[i].calls].sort((a, b) => b.count - a.count);
    lines.push(`  ${d.name}: ${calls.map((c) => `${c.name} ${c.count}`).join(', ')}`);
  });
  lines.push(
    'events: raised by the hypervisor (timers, VIRQs, interdomain); kicks and interrupts: the',
    "virtio queues' doorbells and event channels; MB/s and pkt/s: while each device was busy.",
  );
  return lines;
}
