// The ABI's own consistency: fields inside their structs and pages, nothing
// overlapping, every Atomics word 4-aligned, the numbers unique.
import { expect, test } from 'vitest';
import * as abi from '../src/index.ts';

function fieldsFit(obj: Record<string, number>, size: number, widths: Record<string, number> = {}) {
  const spans = Object.entries(obj)
    .map(([k, off]) => [off, off + (widths[k] ?? 4), k] as const)
    .sort((a, b) => a[0] - b[0]);
  for (const [i, [from, to, k]] of spans.entries()) {
    expect(to, `${k} ends inside the struct`).toBeLessThanOrEqual(size);
    if (i > 0)
      expect(from, `${k} overlaps ${spans[i - 1][2]}`).toBeGreaterThanOrEqual(spans[i - 1][1]);
  }
}

test('start_info fits its page; strings and the device table do not overlap', () => {
  fieldsFit(abi.START_INFO, abi.PAGE_SIZE, {
    name: abi.MAX_DOMAIN_NAME,
    cmd_line: abi.MAX_GUEST_CMDLINE,
    devices: abi.MAX_DEVICES * abi.DEVICE_ENTRY_SIZE,
  });
  fieldsFit(abi.DEVICE_ENTRY, abi.DEVICE_ENTRY_SIZE);
});

test('shared_info: vcpu_info array, bitmaps and wall clock apart, inside one page', () => {
  const bitmap = abi.NR_EVENT_CHANNELS / 8;
  fieldsFit(abi.SHARED_INFO, abi.PAGE_SIZE, {
    vcpu_info: abi.MAX_VIRT_CPUS * abi.VCPU_INFO_SIZE,
    evtchn_pending: bitmap,
    evtchn_mask: bitmap,
  });
  fieldsFit(abi.VCPU_INFO, abi.VCPU_INFO_SIZE, { time: abi.VCPU_TIME_INFO_SIZE });
  fieldsFit(abi.VCPU_TIME_INFO, abi.VCPU_TIME_INFO_SIZE, { tsc_timestamp: 8, system_time: 8 });
  expect((abi.SHARED_INFO_GPA + abi.VCPU_INFO.time + abi.VCPU_TIME_INFO.system_time) % 8).toBe(0);
});

test('the memory map: reserved pages in order, before any RAM', () => {
  expect(abi.NULL_PAGE_GPA).toBeLessThan(abi.START_INFO_GPA);
  expect(abi.START_INFO_GPA + abi.PAGE_SIZE).toBeLessThanOrEqual(abi.SHARED_INFO_GPA);
  expect(abi.SHARED_INFO_GPA + abi.PAGE_SIZE).toBeLessThanOrEqual(abi.BOOT_MODULE_GPA);
  expect(abi.reservedPages(0)).toBe(3);
  expect(abi.reservedPages(1)).toBe(4);
  expect(abi.reservedPages(abi.BOOT_MODULE_MAX) * abi.PAGE_SIZE).toBeLessThan(abi.MIN_GUEST_MEMORY);
});

test('mailbox: words inside; hot block, arguments and each flag on lines apart', () => {
  const words = abi.MAILBOX_BYTES / 4;
  const M = abi.MAILBOX;
  fieldsFit(M, words, {
    args: 12,
    result: 2,
    guest_sleeping: 1,
    svc_sleeping: 1,
    state: 1,
    nr: 1,
  });
  // state, nr and result: one 16-byte block on a 16-byte boundary, which no
  // 64-byte line of a 16-aligned buffer can split, at least 64 bytes in.
  const hot = [M.state, M.nr, M.result, M.result + 1].map((w) => w * 4);
  const block = Math.min(...hot);
  expect(block % 16).toBe(0);
  expect(Math.max(...hot) + 4 - block).toBeLessThanOrEqual(16);
  expect(block).toBeGreaterThanOrEqual(64);
  // The arguments follow the block; a line holding a flag can reach back at
  // most 60 bytes, so each flag is 64 bytes past the arguments and the other.
  expect(M.args * 4).toBeGreaterThanOrEqual(block + 16);
  const argsEnd = (M.args + 12) * 4;
  expect(M.guest_sleeping * 4).toBeGreaterThanOrEqual(argsEnd + 60);
  expect(M.svc_sleeping * 4).toBeGreaterThanOrEqual(M.guest_sleeping * 4 + 64);
  expect(abi.MAILBOX_BYTES).toBeGreaterThanOrEqual(M.svc_sleeping * 4 + 64);
});

test('structs: multicall entry, memory map, evtchn_status', () => {
  fieldsFit(abi.MULTICALL_ENTRY, abi.MULTICALL_ENTRY_SIZE, { op: 8, result: 8, args: 48 });
  fieldsFit(abi.E820_ENTRY, abi.E820_ENTRY_SIZE, { addr: 8, size: 8 });
  fieldsFit(abi.MEMORY_MAP, abi.MEMORY_MAP_SIZE, { buffer: 8 });
  fieldsFit(abi.EVTCHN_STATUS, abi.EVTCHN_STATUS_SIZE);
});

test('call numbers are unique and inside the dispatch table', () => {
  const nrs = Object.values(abi.HYPERVISOR);
  expect(new Set(nrs).size).toBe(nrs.length);
  for (const nr of nrs) expect(nr).toBeLessThan(abi.NR_HYPERCALLS);
});

test('errno names', () => {
  expect(abi.errnoName(-22)).toBe('EINVAL');
  expect(abi.errnoName(38)).toBe('ENOSYS');
  expect(abi.errnoName(-999)).toBe('E?999');
});
