// The virtio-net driver (Linux drivers/net/virtio_net.c, reduced to one
// queue pair): probe the device, negotiate what both sides have, read MAC,
// MTU, link status and pvkit's address block from config space (link status
// again on every config change), keep the rx
// ring full (./rx.ts), send through the tx ring (./tx.ts), and give the NIC
// to the kernel's network stack as eth0, eth1, ...
//
// Kernel command line knobs, for experiments and benchmarks:
//   net.csum=off    do not negotiate CSUM / GUEST_CSUM (checksums in software)
//   net.mrg=off     do not negotiate MRG_RXBUF
//   net.rxbuf=N     rx buffer bytes (default 2048; below 1526 only with MRG_RXBUF)
//   net.busypoll=µs the most a socket receive polls the rx ring before it parks
//                   (../../netif/sockets.ts; default 250, 0: off)
//   net.txpoll=µs   how long a sender polls for a free tx slot before it parks
//                   (default 50, 0: park at once)
import { DEVICE_TYPE } from '@pvkit/hypercall';
import {
  decodeNetConfig,
  decodePvkitNetConfig,
  defaultNicMac,
  ETH_DATA_LEN,
  ETH_HLEN,
  type FeatureSet,
  formatMac,
  hasFeature,
  hasNetFeature,
  NET_CONFIG_SIZE,
  NET_HDR_SIZE,
  netFeatures,
  netLinkUp,
  PVKIT_NET_CONFIG_TOTAL,
  RING_FEATURES,
  VIRTIO_F,
  VIRTIO_MMIO,
  VIRTIO_NET_DEVICE_ID,
  VIRTIO_STATUS,
} from '@pvkit/virtio-ring';
import type { Driver } from '../../devices.ts';
import type { Kernel } from '../../kernel.ts';
import {
  formatIpv4,
  type IpConfig,
  type NetInterface,
  type NetLink,
  parseIpConfig,
} from '../../net/index.ts';
import { kernelNet, type NetDevice } from '../../netif/kernel-net.ts';
import type { DeviceInfo } from '../../start-info.ts';
import { probeVirtio, readDeviceConfig, type VirtioProbeOptions } from '../virtio/device.ts';
import type { MmioRegisters } from '../virtio/mmio.ts';
import { VirtioRecovery } from '../virtio/recovery.ts';
import { freeQueueMemory, type Virtqueue } from '../virtio/virtqueue.ts';
import { NetRx } from './rx.ts';
import { NetTx, TX_SLOT_SIZE } from './tx.ts';

/** Entries per queue we ask for (clamped to QueueNumMax, and to memory: queueSizeFor). */
const QUEUE_SIZE = 1024;
const MIN_QUEUE_SIZE = 64;
/** The share of free memory a NIC's rx buffers and tx slots may take. */
const MEMORY_SHARE = 4;

/** The largest ring (a power of two) whose buffers fit a quarter of `freePages`. */
function queueSizeFor(freePages: number, rxBuf: number): number {
  let n = QUEUE_SIZE;
  while (n > MIN_QUEUE_SIZE && (n * (rxBuf + TX_SLOT_SIZE)) / 4096 > freePages / MEMORY_SHARE)
    n >>>= 1;
  return n;
}
const DEFAULT_RX_BUF = 2048;
/** The longest a sender waiting for tx room parks while the device is down. */
const NET_DOWN_WAIT_MS = 1000;
const DEFAULT_TX_POLL_US = 50;
/** How long an owed Status check waits for frames that prove the device alive (owe()). */
const RECHECK_MS = 20;
/** The smallest rx buffer with MRG_RXBUF: a header and a little. */
const MIN_MERGE_BUF = 64;

/** What this driver can use. */
export const NET_DRIVER_FEATURES: FeatureSet =
  RING_FEATURES | netFeatures('MAC', 'STATUS', 'MTU', 'MRG_RXBUF', 'CSUM', 'GUEST_CSUM');

export interface NetOptions {
  csum: boolean;
  mrg: boolean;
  rxBuf: number;
  txPollNs: number;
}

/** The net.* knobs of a kernel command line. */
export function netOptions(cmdline: string): NetOptions {
  const word = (k: string) => new RegExp(`(?:^|\\s)net\\.${k}=(\\S+)`).exec(cmdline)?.[1];
  const rx = Number(word('rxbuf') ?? DEFAULT_RX_BUF);
  const txPoll = Number(word('txpoll') ?? DEFAULT_TX_POLL_US);
  return {
    csum: word('csum') !== 'off',
    mrg: word('mrg') !== 'off',
    rxBuf: Number.isInteger(rx) && rx > 0 ? rx : DEFAULT_RX_BUF,
    txPollNs: (Number.isFinite(txPoll) && txPoll >= 0 ? txPoll : DEFAULT_TX_POLL_US) * 1000,
  };
}

export class VirtioNet implements NetDevice {
  declare readonly name: string;
  declare readonly features: FeatureSet;
  declare readonly mac: Uint8Array;
  declare readonly mtu: number;
  /** VIRTIO_NET_S_LINK_UP as last read (always up without STATUS); see checkConfig(). */
  declare linkUp: boolean;
  declare readonly ip: IpConfig | null;
  /** Both rings are replaced when the device is reset and re-probed (../virtio/recovery.ts). */
  declare rx: NetRx;
  declare tx: NetTx;
  declare readonly link: NetLink;
  /** DEVICE_NEEDS_RESET handling: the stack keeps its sockets; frames go out again once it is back. */
  declare readonly recovery: VirtioRecovery;
  declare private readonly txPollNs: number;
  /** rx frames at the last rx interrupt; and at the last one whose Status check is owed (owe()). */
  private framesAtIrq = 0;
  private owedAt = 0;
  private recheck = false;
  /** Replaced with the rings when the device is re-probed. */
  declare private regs: MmioRegisters;
  /** Word index of our device table entry's config_seq, and its value when config was last read. */
  declare private readonly configSeqWord: number;
  declare private configSeq: number;
  /** The stack's interface (null without an address: frames are then dropped here). */
  private iface: NetInterface | null = null;
  declare private readonly probeOpts: VirtioProbeOptions;
  declare private readonly kernel: Kernel;
  /** Senders parked while the device is down (waitTxRoom). */
  private upWaiters: (() => void)[] = [];
  declare private readonly rxOpts: ConstructorParameters<typeof NetRx>[2];

  constructor(kernel: Kernel, dev: DeviceInfo) {
    this.name = `eth${dev.id}`;
    this.kernel = kernel;
    const opts = netOptions(kernel.info.cmdline);
    this.txPollNs = opts.txPollNs;
    let wanted = NET_DRIVER_FEATURES;
    if (!opts.csum) wanted &= ~netFeatures('CSUM', 'GUEST_CSUM');
    if (!opts.mrg) wanted &= ~netFeatures('MRG_RXBUF');
    this.configSeqWord = dev.configSeqAt >>> 2;
    // Read before config space: a change from now on is seen by checkConfig().
    this.configSeq = Atomics.load(kernel.hv.words, this.configSeqWord);
    this.probeOpts = {
      deviceId: VIRTIO_NET_DEVICE_ID,
      wanted,
      queueCount: () => 2,
      queueSize: queueSizeFor(kernel.mm.free, opts.rxBuf),
    };
    const { regs, features, queues } = probeVirtio<number>(kernel, dev, this.probeOpts);
    this.features = features;
    this.regs = regs;
    const has = (n: Parameters<typeof hasNetFeature>[1]) => hasNetFeature(features, n);
    const raw = readDeviceConfig(regs, PVKIT_NET_CONFIG_TOTAL);
    const cfg = decodeNetConfig(raw);
    this.mac = has('MAC') ? cfg.mac : defaultNicMac(kernel.info.name, dev.id);
    this.mtu = has('MTU') ? cfg.mtu : ETH_DATA_LEN;
    this.linkUp = netLinkUp(features, cfg.status);
    const v4 = decodePvkitNetConfig(raw)?.ipv4 ?? null;
    const parsed = v4 ? parseIpConfig(`${formatIpv4(v4.addr)}/${v4.prefix}`) : null;
    this.ip = parsed?.ok ? parsed.config : null;
    const mergeable = has('MRG_RXBUF');
    // Without merging, one buffer must hold the largest frame.
    const minBuf = mergeable ? MIN_MERGE_BUF : NET_HDR_SIZE + ETH_HLEN + this.mtu;
    const csum = has('CSUM');
    this.link = {
      mac: this.mac,
      mtu: this.mtu,
      txCsumOffload: csum,
      transmit: (frame, o) => this.tx.transmit(frame, o),
    };
    const net = kernelNet(kernel);
    this.rxOpts = {
      bufSize: Math.max(minBuf, opts.rxBuf),
      mergeable,
      guestCsum: has('GUEST_CSUM'),
      deliver: (b, o, l, v) => this.iface?.receiveAt(b, o, l, v),
    };
    this.rx = new NetRx(kernel, queues[0], this.rxOpts);
    this.tx = new NetTx(kernel, queues[1], csum);
    this.iface = net.addNic(this, this.ip, this.linkUp).iface;
    this.recovery = new VirtioRecovery(kernel, dev, regs, {
      label: `virtio-net: ${this.name}`,
      down: (why) => {
        this.rx.broken ??= why;
        this.tx.fail(why);
      },
      release: () => {
        this.rx.release(kernel);
        this.tx.release(kernel);
      },
      reprobe: () => this.reprobe(kernel, dev),
    });
    this.serveRx(kernel, queues[0]);
  }

  /**
   * Bind the rx interrupt; frames may have arrived between DRIVER_OK and now.
   * Queue 0's event is also the config interrupt (the device table's
   * config_seq says whether config space moved).
   */
  private serveRx(kernel: Kernel, vq: Virtqueue<number>): void {
    const net = kernelNet(kernel);
    this.framesAtIrq = this.rx.stats.frames;
    vq.onInterrupt(kernel, () => {
      if (Atomics.load(kernel.hv.words, this.configSeqWord) !== this.configSeq) this.checkConfig();
      if (this.rx.poll() > 0) net.rearm();
      else if (this.rx.broken !== null) this.recovery.fail(this.rx.broken);
      // Nothing to take: is the device asking for a reset? (a trap; the
      // one event a dead backend's toolstack raises must not be missed).
      // When frames came since the last interrupt, a socket's busy polling
      // took this one's frames: the question is asked a little later,
      // and only if no frame came in between.
      else if (this.rx.stats.frames !== this.framesAtIrq) this.owe(kernel);
      else this.recovery.check();
      this.framesAtIrq = this.rx.stats.frames;
    });
    if (this.rx.poll() > 0) net.rearm();
  }

  /**
   * A Status check owed for an rx interrupt that found nothing: a device
   * that sends frames after it is alive (a dead backend sends none), so
   * the trap is paid only when none came within RECHECK_MS of the latest
   * such interrupt. Streams then raise no trap per batch that busy polling
   * took first (each costs a wake-up of the hypervisor service).
   */
  private owe(kernel: Kernel): void {
    this.owedAt = this.rx.stats.frames;
    if (this.recheck) return;
    this.recheck = true;
    kernel.time.add(kernel.time.nowNs() + RECHECK_MS * 1e6, () => {
      this.recheck = false;
      if (this.recovery.state === 'up' && this.rx.stats.frames === this.owedAt)
        this.recovery.check();
    });
  }

  /** The init sequence again: fresh rings, the rx ring refilled; the same features or stay down. */
  private reprobe(kernel: Kernel, dev: DeviceInfo): MmioRegisters {
    const { regs, features, queues } = probeVirtio<number>(kernel, dev, this.probeOpts);
    if (features !== this.features) {
      regs.write(VIRTIO_MMIO.STATUS, regs.read(VIRTIO_MMIO.STATUS) | VIRTIO_STATUS.FAILED);
      for (const vq of queues) freeQueueMemory(kernel, vq.memory);
      throw new Error('the device came back with other features');
    }
    this.regs = regs;
    this.rx = new NetRx(kernel, queues[0], this.rxOpts);
    this.tx = new NetTx(kernel, queues[1], hasNetFeature(features, 'CSUM'));
    this.serveRx(kernel, queues[0]);
    for (const resume of this.upWaiters.splice(0)) resume();
    return regs;
  }

  /**
   * Config space changed (the VMM bumped config_seq): re-read it by trap
   * and follow the link status. Down: the stack refuses to send (ENETDOWN)
   * and drops what comes in; up again: it announces itself (gratuitous ARP).
   */
  checkConfig(): void {
    this.configSeq = Atomics.load(this.kernel.hv.words, this.configSeqWord);
    const cfg = decodeNetConfig(readDeviceConfig(this.regs, NET_CONFIG_SIZE));
    const up = netLinkUp(this.features, cfg.status);
    if (up === this.linkUp) return;
    this.linkUp = up;
    this.kernel.console.printk(`virtio-net: ${this.name}: link ${up ? 'up' : 'down'}`);
    this.iface?.setLinkUp(up);
    kernelNet(this.kernel).rearm();
  }

  txRoom(): number {
    return this.tx.room();
  }

  waitTxRoom(): Promise<void> {
    if (this.recovery.state === 'down') {
      // Park (never spin) until the device is back, or NET_DOWN_WAIT_MS: then ENOBUFS again.
      const { sched, time } = this.kernel;
      return sched.park((resume) => {
        this.upWaiters.push(resume);
        time.add(time.nowNs() + NET_DOWN_WAIT_MS * 1e6, resume);
      });
    }
    return this.tx.waitRoom(this.txPollNs);
  }

  txWaiting(): boolean {
    return this.tx.waiting > 0;
  }

  txFrames(): number {
    return this.tx.stats.frames;
  }

  rxFrames(): number {
    return this.rx.stats.frames;
  }

  rxPending(): boolean {
    // While down the old ring's pages may already be someone else's: nothing is pending.
    return this.recovery.state === 'up' && this.rx.vq.ring.hasUsed();
  }

  pollRx(): number {
    return this.rx.poll();
  }

  counters(): Record<string, number> {
    return {
      ...prefixed('rx', this.rx.stats),
      ...prefixed('tx', this.tx.stats),
    };
  }

  describe(): string {
    const on: string[] = (['CSUM', 'GUEST_CSUM', 'MRG_RXBUF'] as const).filter((f) =>
      hasNetFeature(this.features, f),
    );
    if (hasFeature(this.features, VIRTIO_F.EVENT_IDX)) on.push('EVENT_IDX');
    const ip = this.ip ? `${formatIpv4(this.ip.addr)}/${this.ip.prefix}` : 'no address';
    return (
      `virtio-net: ${this.name}: mac ${formatMac(this.mac)}, mtu ${this.mtu}, ` +
      `link ${this.linkUp ? 'up' : 'down'}, ${ip}, rings ${this.rx.vq.ring.size}, ` +
      `rx buffers ${this.rx.bufSize} B, ${on.join(' ')}`
    );
  }
}

function prefixed(p: string, o: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o))
    if (typeof v === 'number') out[`${p}${k[0].toUpperCase()}${k.slice(1)}`] = v;
  return out;
}

export const virtioNetDriver: Driver = {
  name: 'virtio-net',
  type: DEVICE_TYPE.net,
  async probe(dev, kernel) {
    const nic = new VirtioNet(kernel, dev);
    kernel.console.printk(nic.describe());
  },
};
