// The toolstack's handle on the hypervisor service worker: start it, send
// it control messages (and wake it to read them), await acknowledgements.
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import {
  createServiceDoorbell,
  SERVICE_COUNTER,
  SERVICE_COUNTERS_BYTES,
  SERVICE_DOORBELL,
} from '@pvkit/hypercall';
import { bundleEntry } from '../boot/bundle.ts';
import {
  type FromService,
  SERVICE_CONTROL,
  SERVICE_CONTROL_BYTES,
  type ServiceWorkerData,
  type ToService,
} from '../service/protocol.ts';

const SERVICE_ENTRY = fileURLToPath(new URL('../service/entry.ts', import.meta.url));

/** What the service's counters say (read with no message). */
export interface ServiceStats {
  domains: number;
  timersArmed: number;
  passes: number;
  sleeps: number;
  wakeups: number;
}

type Distribute<T> = T extends { id: number } ? Omit<T, 'id'> : never;
export type AckedMessage = Distribute<Extract<ToService, { id: number }>>;

export class ServiceClient {
  declare readonly worker: Worker;
  readonly doorbell = createServiceDoorbell();
  private readonly controlWords = new Int32Array(new SharedArrayBuffer(SERVICE_CONTROL_BYTES));
  private readonly counters = new Float64Array(new SharedArrayBuffer(SERVICE_COUNTERS_BYTES));
  declare private readonly port;
  private nextId = 1;
  private readonly acks = new Map<number, (ok: boolean) => void>();
  /** Resolves when the service worker has exited. */
  declare readonly gone: Promise<void>;

  constructor(timeBaseMs: number, spinUs: number, onMessage: (m: FromService) => void) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: ServiceWorkerData = {
      control: port2,
      controlWords: this.controlWords.buffer as SharedArrayBuffer,
      doorbell: this.doorbell,
      counters: this.counters.buffer as SharedArrayBuffer,
      timeBaseMs,
      spinUs,
    };
    this.worker = new Worker(bundleEntry(SERVICE_ENTRY), {
      workerData: data,
      transferList: [port2],
      execArgv: [], // a bundle needs no `--import tsx`
    });
    this.gone = new Promise((r) =>
      this.worker.once('exit', () => {
        for (const ack of this.acks.values()) ack(false);
        this.acks.clear();
        r();
      }),
    );
    port1.on('message', (m: FromService) => {
      if (m.t === 'ack') {
        this.acks.get(m.id)?.(m.ok);
        this.acks.delete(m.id);
      } else onMessage(m);
    });
    // The channel must not keep the toolstack alive on its own.
    port1.unref();
  }

  /** Send a control message and wake the service to read it. */
  send(msg: ToService, transfer: readonly MessagePort[] = []): void {
    this.port.postMessage(msg, transfer);
    Atomics.add(this.controlWords, SERVICE_CONTROL.seq, 1);
    const db = new Int32Array(this.doorbell);
    Atomics.add(db, SERVICE_DOORBELL.seq, 1);
    Atomics.notify(db, SERVICE_DOORBELL.seq);
  }

  /** Send a message the service acknowledges; resolves with its verdict. */
  request(msg: AckedMessage): Promise<boolean> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.acks.set(id, resolve);
      this.send({ ...msg, id } as ToService);
    });
  }

  stats(): ServiceStats {
    const c = this.counters;
    return {
      domains: c[SERVICE_COUNTER.domains],
      timersArmed: c[SERVICE_COUNTER.timers_armed],
      passes: c[SERVICE_COUNTER.passes],
      sleeps: c[SERVICE_COUNTER.sleeps],
      wakeups: c[SERVICE_COUNTER.wakeups],
    };
  }

  /** Stop the loop and wait for the worker to end (terminate if it does not in 2 s). */
  async stop(): Promise<void> {
    this.send({ t: 'stop' });
    const timer = setTimeout(() => void this.worker.terminate(), 2000);
    await this.gone;
    clearTimeout(timer);
    this.port.close();
  }
}
