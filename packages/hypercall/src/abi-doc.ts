// The ABI reference of README.md, generated from the constants themselves so
// that the document cannot drift from the code (a test compares them).
import { DOMAIN_COUNTER, SERVICE_COUNTER } from './counters.ts';
import * as L from './layout.ts';
import * as N from './numbers.ts';
import { TRACE_KIND, TRACE_RECORD, TRACE_RECORD_SIZE } from './trace.ts';

type Row = readonly (string | number)[];

/** A markdown table with padded columns (as Biome formats markdown). */
function table(head: Row, rows: readonly Row[]): string {
  const all = [head, ...rows].map((r) => r.map(String));
  const width = head.map((_, i) => Math.max(3, ...all.map((r) => r[i].length)));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(width[i])).join(' | ')} |`;
  return [line(all[0]), line(width.map((w) => '-'.repeat(w))), ...all.slice(1).map(line)].join(
    '\n',
  );
}

const hex = (x: number) => `0x${x.toString(16).padStart(4, '0')}`;

function consts(obj: Record<string, number>, fmt: (x: number) => string = String): string {
  return table(
    ['name', 'value'],
    Object.entries(obj).map(([k, v]) => [`\`${k}\``, fmt(v)]),
  );
}

function fields(obj: Record<string, number>, size: number, unit = 'byte offset'): string {
  const rows = Object.entries(obj).map(([k, v]) => [`\`${k}\``, v] as Row);
  return `${table(['field', unit], rows)}\n\nsize: ${size}`;
}

/** What each call takes and returns; sub-op arguments follow the sub-op. */
const CALLS: Record<keyof typeof N.HYPERVISOR, [args: string, returns: string]> = {
  memory_op: [
    '`current_reservation` / `maximum_reservation`; `memory_map`, GPA of MEMORY_MAP',
    'pages; entries written',
  ],
  multicall: [
    'GPA of entries, count (<= LIMITS.multicall_entries)',
    '0; each entry gets its result',
  ],
  set_timer_op: ['deadline, ns of system time (0 cancels; past fires now)', '0'],
  xen_version: [
    '`version`; `extraversion`, GPA of 16 bytes; `get_features`, submap index',
    'value',
  ],
  console_io: ['`write` / `read`, count, GPA of bytes', 'bytes written / read'],
  vcpu_op: ['`is_up` / `register_vcpu_time_memory_area`, vcpu, GPA (8-aligned)', '1 / 0'],
  sched_op: [
    '`yield`; `block`; `shutdown`, reason, exit code; `poll`, GPA of u32 ports, count, deadline ns; `watchdog`, id (0 = new), timeout s (0 = remove)',
    '0 (poll: 1 = now wait; watchdog id 0: the new id)',
  ],
  event_channel_op: [
    '`alloc_unbound`, remote dom; `bind_interdomain`, remote dom, remote port; `bind_virq`, virq, vcpu; `bind_ipi`, vcpu; `send` / `close` / `unmask`, port; `status`, dom, port, GPA of EVTCHN_STATUS',
    'port or 0',
  ],
  pvkit_mmio_op: [
    '`read` / `write`, device handle, register offset, value (write), width 4',
    'value or 0',
  ],
};

/** The markdown reference (between the README markers). */
export function abiReference(): string {
  const calls = Object.entries(N.HYPERVISOR).map(([name, nr]) => {
    const [args, ret] = CALLS[name as keyof typeof N.HYPERVISOR];
    return [nr, `\`${name}\``, args, ret] as Row;
  });
  const map: Row[] = [
    [hex(L.NULL_PAGE_GPA), 'null page (reserved, never used)', L.PAGE_SIZE],
    [hex(L.START_INFO_GPA), 'start_info', L.PAGE_SIZE],
    [hex(L.SHARED_INFO_GPA), 'shared_info', L.PAGE_SIZE],
    [
      hex(L.BOOT_MODULE_GPA),
      'boot module: app command lines (mod_start/mod_len)',
      `<= ${L.BOOT_MODULE_MAX}`,
    ],
    ['after the module', 'RAM the kernel manages', 'rest'],
  ];
  return [
    `ABI version ${N.ABI_VERSION_MAJOR}.${N.ABI_VERSION_MINOR}; pages of ${L.PAGE_SIZE} bytes; GPA = byte offset in guest memory; little-endian; u64 = two u32 words (lo, hi).`,
    '### Hypercalls\n\nArguments in mailbox order (arg0 is the sub-op where there is one). Results >= 0 or -errno.',
    table(['nr', 'call', 'arguments', 'returns'], calls),
    '### Errno',
    consts(N.ERRNO),
    '### Sub-ops',
    ...(
      [
        ['sched_op', N.SCHEDOP],
        ['shutdown reason', N.SHUTDOWN],
        ['console_io', N.CONSOLEIO],
        ['event_channel_op', N.EVTCHNOP],
        ['event channel status', N.EVTCHNSTAT],
        ['VIRQ', N.VIRQ],
        ['xen_version', N.XENVER],
        ['features (submap 0)', N.PVKIT_FEATURE],
        ['memory_op', N.XENMEM],
        ['memory map type', N.E820],
        ['vcpu_op', N.VCPUOP],
        ['pvkit_mmio_op', N.MMIOOP],
        ['device type', N.DEVICE_TYPE],
        ['device flag', N.DEVICE_FLAG],
        ['limits', N.LIMITS],
      ] as const
    ).map(([t, o]) => `#### ${t}\n\n${consts(o)}`),
    `Other numbers: DOMID_SELF ${hex(N.DOMID_SELF)}; ${L.NR_EVENT_CHANNELS} event channels (2-level, 32-bit words); ${L.MAX_VIRT_CPUS} vcpu_info slots; sched_op(poll) returns ${N.SCHEDOP_POLL_WAIT} to say "wait now".`,
    '### Guest-physical memory map',
    table(['GPA', 'what', 'bytes'], map),
    `### start_info (at ${hex(L.START_INFO_GPA)}, magic ${hex(L.START_INFO_MAGIC)} "PVK1")`,
    fields(L.START_INFO, L.PAGE_SIZE),
    `#### device table entry (${L.MAX_DEVICES} at start_info.devices)`,
    fields(L.DEVICE_ENTRY, L.DEVICE_ENTRY_SIZE),
    `### shared_info (at ${hex(L.SHARED_INFO_GPA)})`,
    fields(L.SHARED_INFO, L.PAGE_SIZE),
    '#### vcpu_info (i32 words)',
    fields(L.VCPU_INFO, L.VCPU_INFO_SIZE),
    '#### vcpu_time_info (version i32, then f64)',
    fields(L.VCPU_TIME_INFO, L.VCPU_TIME_INFO_SIZE),
    '### Mailbox (its own SharedArrayBuffer per vCPU; i32 word indices)',
    fields(L.MAILBOX, L.MAILBOX_BYTES, 'word'),
    consts(L.MAILBOX_STATE),
    '### Structs in guest memory',
    `#### multicall entry\n\n${fields(L.MULTICALL_ENTRY, L.MULTICALL_ENTRY_SIZE)}`,
    `#### memory_map argument\n\n${fields(L.MEMORY_MAP, L.MEMORY_MAP_SIZE)}`,
    `#### memory map entry (e820)\n\n${fields(L.E820_ENTRY, L.E820_ENTRY_SIZE)}`,
    `#### evtchn_status\n\n${fields(L.EVTCHN_STATUS, L.EVTCHN_STATUS_SIZE)}`,
    `#### trace record\n\n${fields(TRACE_RECORD, TRACE_RECORD_SIZE)}\n\nkind:\n\n${consts(TRACE_KIND)}`,
    '### Counters (f64 slots the toolstack reads)',
    `#### per domain\n\n${fields(DOMAIN_COUNTER, 16, 'slot')}`,
    `#### service\n\n${fields(SERVICE_COUNTER, 16, 'slot')}`,
  ].join('\n\n');
}
