// What `pnpm demo` runs, in one place: the two guests, their devices, and
// the app command lines. Apps of one guest run concurrently (the kernel
// starts each as a task). An app whose command the kernel does not accept
// (not built in this tree, or its arguments changed) is skipped with a note,
// so the demo runs whatever half of it this build supports.
export const DEMO_SWITCH = 'demo0';
export const DEMO_DISK_SIZE = '128M';
const NETPERF_PORT = 5001;

export interface DemoGuest {
  name: string;
  ip: string;
  memory: string;
  /** Block half: verify a seeded pattern on the guest's own disk (vda). */
  blkApps: string[];
  /** Net half (virtio-net on the switch): alpha pings beta, then streams UDP to it. */
  netApps: string[];
}

export const GUESTS: readonly DemoGuest[] = [
  {
    name: 'alpha',
    ip: '10.0.0.1/24',
    memory: '64M',
    blkApps: ['blkverify vda seed=1 size=64M bs=128k'],
    // In sequence (seq): a ping would find the tx ring full while the stream runs.
    netApps: [`seq ping 10.0.0.2 5 100 ; netperf stream 10.0.0.2 ${NETPERF_PORT} 1472 2`],
  },
  {
    name: 'beta',
    ip: '10.0.0.2/24',
    memory: '64M',
    blkApps: ['blkverify vda seed=2 size=32M bs=128k'],
    // Sinks one netperf session, and stays up answering ARP and ICMP until
    // the demo shuts it down when alpha is done (25 s at most).
    netApps: [`netperf server ${NETPERF_PORT} 1`, 'idle 25'],
  },
];

/** Console lines worth repeating in the summary: each app's result. */
export const RESULT_LINES = [
  /^blkverify: .*(ok|MISMATCH)/,
  /packets transmitted/,
  /^rtt min\/avg\/max/,
  /^netperf (stream|rr) .*: sent /,
  /^netperf server: .* session .*received/,
];

/** The domain config of one guest: a sparse disk image in `dir`, a NIC when net is built. */
export function demoDomain(
  g: DemoGuest,
  dir: string,
  opts: { net: boolean; apps: string[] },
): Record<string, unknown> {
  return {
    name: g.name,
    memory: g.memory,
    disks: [{ path: `${dir}/${g.name}.img`, size: DEMO_DISK_SIZE, create: true }],
    ...(opts.net ? { nics: [{ backend: 'switch', switch: DEMO_SWITCH, ip: g.ip }] } : {}),
    apps: opts.apps,
  };
}
