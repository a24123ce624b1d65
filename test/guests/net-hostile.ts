// A hostile virtio-net driver: a bare vCPU entry (not the pvkit kernel) that
// brings its NIC up by the book, then writes what no driver should into its
// rings. Its cmdline picks a script; results go to the console as lines.
//
//   starve     DRIVER_OK, then never posts an rx buffer (every frame for it is dropped)
//   malformed  posts no rx buffer and offers a tx ring full of broken chains,
//              one good broadcast frame among them, then an avail.idx jump
//              that breaks the queue (the device must ask for a reset)
import { workerData } from 'node:worker_threads';
import type { BootParams } from '../../packages/guest-kernel/src/index.ts';
import {
  CONSOLEIO,
  createHypercall,
  DEVICE_ENTRY,
  HYPERVISOR,
  MMIOOP,
  START_INFO,
} from '../../packages/hypercall/src/index.ts';
import {
  DOORBELL_STRIDE,
  Doorbell,
  GuestMemory,
  initMmioDriver,
  layoutSplitQueue,
  NET_HDR_SIZE,
  NetHdrFlag,
  netFeatures,
  RawDriver,
  type RegisterAccess,
  VIRTIO_F,
  VIRTIO_MMIO,
  VIRTIO_NET_DEVICE_ID,
  VIRTIO_STATUS,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  writeNetHdr,
} from '../../packages/virtio-ring/src/index.ts';

const boot = workerData as BootParams;
const hc = createHypercall(boot.mailbox, boot.serviceDoorbell);
const mem = new GuestMemory(boot.memory);
const OUT = 0x20000;
const RX_RING = 0x40000;
const TX_RING = 0x48000;
const BUF = 0x50000;
const QSIZE = 16;

function print(line: string): void {
  const { written } = new TextEncoder().encodeInto(`${line}\n`, mem.u8.subarray(OUT, OUT + 4096));
  hc(HYPERVISOR.console_io, CONSOLEIO.write, written, OUT);
}

const si = (off: number) => mem.view.getUint32(boot.startInfo + off, true);
const dev = (f: number) => si(START_INFO.devices + f);
const cmdline = new TextDecoder()
  .decode(
    mem.u8.slice(boot.startInfo + START_INFO.cmd_line, boot.startInfo + START_INFO.cmd_line + 64),
  )
  .replace(/\0.*$/s, '');

const regs: RegisterAccess = {
  read: (off) => hc(HYPERVISOR.pvkit_mmio_op, MMIOOP.read, 0, off, 0, 4) >>> 0,
  write: (off, v) => void hc(HYPERVISOR.pvkit_mmio_op, MMIOOP.write, 0, off, v >>> 0, 4),
};
const rxq = layoutSplitQueue(RX_RING, QSIZE, 128);
const txq = layoutSplitQueue(TX_RING, QSIZE, 128);
const init = initMmioDriver(regs, {
  deviceId: VIRTIO_NET_DEVICE_ID,
  // No EVENT_IDX, no INDIRECT_DESC: the device must refuse what was not acked.
  wanted: netFeatures('CSUM') | (1n << BigInt(VIRTIO_F.VERSION_1)),
  setupQueues: () => [
    { index: 0, ...rxq },
    { index: 1, ...txq },
  ],
});
print(`init ${init.ok ? 'ok' : `failed ${init.failure}`}`);
const tx = new RawDriver(mem, txq);
new RawDriver(mem, rxq); // rx: laid out, never given a buffer
const bells = new Int32Array(boot.deviceDoorbells as SharedArrayBuffer);
const kick = new Doorbell(bells, (dev(DEVICE_ENTRY.doorbell) + 1) * DOORBELL_STRIDE);

/** A frame at `at`: virtio header with `flags`, then a broadcast Ethernet frame of `len` bytes. */
function frame(at: number, len: number, hdr: Partial<Parameters<typeof writeNetHdr>[2]> = {}) {
  writeNetHdr(mem.u8, at, {
    flags: 0,
    gsoType: 0,
    hdrLen: 0,
    gsoSize: 0,
    csumStart: 0,
    csumOffset: 0,
    numBuffers: 0,
    ...hdr,
  });
  const f = at + NET_HDR_SIZE;
  mem.u8.fill(0xff, f, f + 6); // to everyone
  mem.u8.set([0x02, 0xba, 0xd0, 0, 0, 1], f + 6);
  mem.u8.set([0x88, 0xb5], f + 12); // a local experimental EtherType
  return { addr: at, len: NET_HDR_SIZE + len };
}

function waitUsed(n: number, ms: number): boolean {
  const end = Date.now() + ms;
  while (tx.usedIdx() < n) {
    if (Date.now() > end) return false;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  }
  return true;
}

const scripts: Record<string, () => void> = {
  starve() {
    print('starving');
  },
  malformed() {
    const far = mem.size + 0x1000;
    const chains = [
      [{ addr: far, len: 100 }], // outside guest memory
      [frame(BUF, 8)].map((d) => ({ ...d, len: 8 })), // shorter than a virtio header
      [{ ...frame(BUF + 0x100, 60), flags: VIRTQ_DESC_F_WRITE }], // device-writable tx buffer
      [frame(BUF + 0x200, 60, { flags: NetHdrFlag.NEEDS_CSUM, csumStart: 1000 })],
      [frame(BUF + 0x300, 60, { gsoType: 99 })],
      [frame(BUF + 0x400, 60, { flags: NetHdrFlag.DATA_VALID })],
      [{ addr: BUF + 0x500, len: 32, flags: VIRTQ_DESC_F_INDIRECT }], // not negotiated
      [frame(BUF + 0x600, 60)], // the one good frame: a broadcast
    ];
    let d = 0;
    const heads: number[] = [];
    for (const c of chains) {
      heads.push(d);
      tx.writeChain(d, c);
      d += c.length;
    }
    // A loop: 14 -> 15 -> 14 ...
    tx.writeDescriptor(14, { addr: BUF + 0x700, len: 16, flags: VIRTQ_DESC_F_NEXT, next: 15 });
    tx.writeDescriptor(15, { addr: BUF + 0x700, len: 16, flags: VIRTQ_DESC_F_NEXT, next: 14 });
    heads.push(14);
    tx.offer(...heads);
    kick.ring();
    const ok = waitUsed(heads.length, 5000);
    const lens = heads.map((_, i) => tx.used(i).len);
    print(
      `tx-used ${tx.usedIdx()} of ${heads.length} ${ok ? 'all' : 'missing'} lens ${lens.join(',')}`,
    );
    // Now break the ring itself: avail.idx runs more than N ahead.
    tx.setAvailIdx(heads.length + 100);
    kick.ring();
    const end = Date.now() + 5000;
    let status = 0;
    while (Date.now() < end) {
      status = regs.read(VIRTIO_MMIO.STATUS);
      if (status & VIRTIO_STATUS.DEVICE_NEEDS_RESET) break;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
    print(`needs-reset ${status & VIRTIO_STATUS.DEVICE_NEEDS_RESET ? 1 : 0}`);
  },
};

const script = scripts[cmdline];
if (!script) throw new Error(`net-hostile guest: no script "${cmdline}"`);
script();
print('hostile done');
// Stay plugged in (the test destroys this domain).
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
