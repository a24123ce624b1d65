// A domain's counters as text: what `pvkit run --stats` prints now and
// `pvkit stat` will show live.
import type { DomainStats } from '../toolstack/domain.ts';

const us = (ns: number) => (ns / 1000).toFixed(1);

export function formatStats(s: DomainStats): string {
  const lines = [
    `stats of ${s.name} (domid ${s.domid}, ${s.state}): ${s.hypercalls} traps, ${s.multicallEntries} multicall entries, ` +
      `${s.timerFires} timer fires, ${s.eventsDelivered} events delivered, ${s.blocks} blocks, ${s.consoleBytes} console bytes`,
    '  call               count     avg µs     max µs',
  ];
  for (const c of s.calls)
    lines.push(
      `  ${c.name.padEnd(16)} ${String(c.count).padStart(7)} ${us(c.count ? c.totalNs / c.count : 0).padStart(10)} ${us(c.maxNs).padStart(10)}`,
    );
  if (s.ports.length > 0) {
    lines.push('  port    sends  deliveries');
    for (const p of s.ports)
      lines.push(
        `  ${String(p.port).padStart(4)} ${String(p.sends).padStart(8)} ${String(p.deliveries).padStart(11)}`,
      );
  }
  if (s.devices.length > 0) {
    lines.push('  device      kicks  interrupts     chains  malformed       bytes   sleeps');
    for (const d of s.devices)
      lines.push(
        `  ${d.name.padEnd(6)} ${[d.kicks, d.interrupts, d.chains, d.malformed, d.bytes, d.sleeps]
          .map((v, i) => String(v).padStart([10, 11, 10, 10, 11, 8][i]))
          .join(' ')}`,
      );
    // The device type's own counters (errors among them), those that moved.
    for (const d of s.devices) {
      const moved = Object.entries(d.counters).filter(([, v]) => v !== 0);
      if (moved.length > 0)
        lines.push(`  ${d.name}: ${moved.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    }
  }
  return lines.join('\n');
}
