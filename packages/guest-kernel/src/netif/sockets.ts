// Sockets as apps use them: the stack's non-blocking UDP and ping sockets,
// plus what only the kernel can add, blocking. A receive with a timeout
// parks the task until the socket becomes readable (its onReadable wakes
// it, from inside the rx interrupt) or the deadline passes (a kernel
// timer); a send that finds the NIC's tx ring full parks until a slot is
// free, as a blocking UDP sendto does on Linux when the socket buffer is
// full. After each call the stack's timers are re-armed.
//
// Busy polling (Linux's SO_BUSY_POLL / net.core.busy_read): before parking,
// a receive may poll the NICs' rx rings itself for a while: an answer that
// comes within it costs no block and no wake-up of this vCPU. How long
// adapts as KVM's halt polling does (KernelNet.afterBlock): it grows while
// parked waits turn out short, and falls back to 0 when they are long, as
// on a machine whose cores are busy with other work, where a spinning
// thread only delays the one it waits for.
import type { Kernel } from '../kernel.ts';
import type {
  EchoReply,
  NetError,
  PingSocket,
  UdpFrom,
  UdpSocket,
  UdpSocketOptions,
} from '../net/index.ts';
import type { KernelNet } from './kernel-net.ts';

/** Something with the stack sockets' readiness interface. */
interface Readable {
  readonly readable: boolean;
  onReadable: (() => void) | null;
}

/**
 * Wait until `sock` is readable or `deadlineNs` passes (0: no deadline):
 * busy-poll the rx rings for the current window, then park.
 */
async function waitReadable(kernel: Kernel, net: KernelNet, sock: Readable, deadlineNs: number) {
  const { sched, time } = kernel;
  const now = time.nowNs();
  if (net.busyPollNs > 0) {
    const until = now + net.busyPollNs;
    if (net.busyPoll(deadlineNs > 0 ? Math.min(until, deadlineNs) : until, () => sock.readable))
      return;
  }
  const parked = time.nowNs();
  const data = await sched.park<boolean>((resume) => {
    net.waiters++;
    const timer = deadlineNs > 0 ? time.add(deadlineNs, () => done(false)) : null;
    function done(readable: boolean): void {
      net.waiters--;
      sock.onReadable = null;
      if (timer !== null) time.cancel(timer);
      resume(readable);
    }
    sock.onReadable = () => done(true);
  });
  net.afterBlock(time.nowNs() - parked, data);
}

/** Run `recv` until it gives something other than EAGAIN, or until the timeout. */
async function blockingRecv<T>(
  kernel: Kernel,
  net: KernelNet,
  sock: Readable,
  timeoutMs: number | null,
  recv: () => T | 'EAGAIN',
): Promise<T | 'EAGAIN'> {
  const deadline = timeoutMs === null ? 0 : kernel.time.nowNs() + timeoutMs * 1e6;
  for (;;) {
    const r = recv();
    if (r !== 'EAGAIN' || (deadline > 0 && kernel.time.nowNs() >= deadline)) return r;
    await waitReadable(kernel, net, sock, deadline);
  }
}

export class AppUdpSocket {
  declare readonly sock: UdpSocket;
  declare private readonly kernel: Kernel;
  declare private readonly net: KernelNet;

  constructor(kernel: Kernel, net: KernelNet, opts?: UdpSocketOptions) {
    this.kernel = kernel;
    this.net = net;
    this.sock = net.stack.udpSocket(opts);
  }

  get localPort(): number {
    return this.sock.localPort;
  }

  /** Datagrams dropped because the receive queue was full. */
  get drops(): number {
    return this.sock.drops;
  }

  bind(port = 0): NetError | null {
    return this.sock.bind(port);
  }

  /** Send without waiting: 'ENOBUFS' when the NIC's tx ring is full (then waitTx()). */
  trySendTo(payload: Uint8Array, addr: number, port: number): number | NetError {
    const r = this.sock.sendTo(payload, addr, port);
    this.net.rearm();
    return r;
  }

  /** Park until the NIC toward `addr` has a free tx slot. */
  async waitTx(addr: number): Promise<void> {
    const nic = this.net.nicFor(addr);
    if (nic !== null && nic.dev.txRoom() === 0) await nic.dev.waitTxRoom();
  }

  /** Send one datagram, waiting for a tx slot if the NIC has none. */
  async sendTo(payload: Uint8Array, addr: number, port: number): Promise<number | NetError> {
    const nic = this.net.nicFor(addr);
    if (nic !== null && nic.dev.txRoom() === 0) await nic.dev.waitTxRoom();
    const r = this.sock.sendTo(payload, addr, port);
    this.net.rearm();
    return r;
  }

  /**
   * Receive one datagram into `into` (its full length is returned), waiting
   * up to `timeoutMs` (null: forever); 'EAGAIN' when the time ran out.
   */
  recvFrom(into: Uint8Array, from?: UdpFrom, timeoutMs: number | null = null) {
    return blockingRecv(this.kernel, this.net, this.sock, timeoutMs, () =>
      this.sock.recvFrom(into, from),
    );
  }

  /** Receive without waiting: the length, or 'EAGAIN' (then waitReadable()). */
  tryRecvFrom(into: Uint8Array, from?: UdpFrom): number | NetError {
    return this.sock.recvFrom(into, from);
  }

  /** Park until a datagram is queued or `timeoutMs` passes (null: no limit). */
  async waitReadable(timeoutMs: number | null = null): Promise<void> {
    const s = this.sock;
    if (s.readable || s.isClosed) return;
    const deadline = timeoutMs === null ? 0 : this.kernel.time.nowNs() + timeoutMs * 1e6;
    await waitReadable(this.kernel, this.net, s, deadline);
  }

  close(): void {
    this.sock.close();
  }
}

export class AppPingSocket {
  declare readonly sock: PingSocket;
  declare private readonly kernel: Kernel;
  declare private readonly net: KernelNet;

  constructor(kernel: Kernel, net: KernelNet) {
    this.kernel = kernel;
    this.net = net;
    this.sock = net.stack.pingSocket();
  }

  send(dst: number, seq: number, payloadLen?: number): number | NetError {
    const r = this.sock.send(dst, seq, payloadLen);
    this.net.rearm();
    return r;
  }

  /** The next echo reply, or null when none came within `timeoutMs`. */
  async recv(timeoutMs: number): Promise<EchoReply | null> {
    const r = await blockingRecv(this.kernel, this.net, this.sock, timeoutMs, () =>
      this.sock.readable ? (this.sock.tryRecv() as EchoReply) : 'EAGAIN',
    );
    return r === 'EAGAIN' ? null : r;
  }

  close(): void {
    this.sock.close();
  }
}
