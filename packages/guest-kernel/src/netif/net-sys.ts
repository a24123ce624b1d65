// sys.net: what an app sees of the network. Addresses are host-order u32
// numbers (parseIp / formatIp convert); errors come back as NetError strings,
// never thrown.
import type { Kernel } from '../kernel.ts';
import { formatIpv4, type NetStats, parseIpv4, type UdpSocketOptions } from '../net/index.ts';
import { kernelNet } from './kernel-net.ts';
import { AppPingSocket, AppUdpSocket } from './sockets.ts';

export interface NetInterfaceInfo {
  name: string;
  mac: Uint8Array;
  /** "10.0.0.2/24", or null for a NIC without an address. */
  ip: string | null;
  addr: number;
  linkUp: boolean;
  mtu: number;
  stats: NetStats | null;
  /** The driver's own counters (rx/tx frames, merged buffers, offloads...). */
  driver: Record<string, number>;
}

export interface NetSys {
  interfaces(): NetInterfaceInfo[];
  udp(opts?: UdpSocketOptions): AppUdpSocket;
  ping(): AppPingSocket;
  parseIp(text: string): number | null;
  formatIp(addr: number): string;
}

export function netSys(kernel: Kernel): NetSys {
  return {
    interfaces: () =>
      kernelNet(kernel).nics.map(({ dev, iface }) => ({
        name: dev.name,
        mac: dev.link.mac,
        ip: iface ? `${formatIpv4(iface.ip.addr)}/${iface.ip.prefix}` : null,
        addr: iface?.ip.addr ?? 0,
        linkUp: iface?.linkUp ?? false,
        mtu: dev.link.mtu,
        stats: iface?.stats ?? null,
        driver: dev.counters(),
      })),
    udp: (opts) => new AppUdpSocket(kernel, kernelNet(kernel), opts),
    ping: () => new AppPingSocket(kernel, kernelNet(kernel)),
    parseIp: parseIpv4,
    formatIp: formatIpv4,
  };
}
