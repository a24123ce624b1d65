// The control socket of a running VMM. `pvkit run` (and `trace record`,
// `demo`) listen on a unix socket named by their pid in the temp directory,
// removed on exit; `pvkit stat` finds it, connects and asks for snapshots of
// the counters. One request per line ("stats"; "restart <domain> <device>",
// which `pvkit restart` sends), one JSON answer per line.
import { readdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DomainStats } from '../toolstack/domain.ts';

const SOCKET_RE = /^pvkit-(\d+)\.sock$/;

export function controlSocketPath(pid = process.pid): string {
  return join(tmpdir(), `pvkit-${pid}.sock`);
}

/** What a VMM answers to "stats". */
export interface Snapshot {
  pid: number;
  /** The command line it runs, e.g. "run hello.json". */
  command: string;
  /** ms since the VMM started (monotonic: rates come from its differences). */
  uptimeMs: number;
  domains: DomainStats[];
}

/** What the VMM does for requests other than "stats" (resolves with a line to show). */
export interface ControlActions {
  restart?(domain: string, device: string): Promise<string>;
}

/** The answer to one request line. */
async function answer(req: string, snapshot: () => Snapshot, actions: ControlActions) {
  if (req === 'stats') return snapshot();
  const [verb, ...args] = req.split(/\s+/);
  if (verb === 'restart' && actions.restart && args.length === 2)
    return actions.restart(args[0], args[1]).then(
      (ok) => ({ ok }),
      (e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }),
    );
  return { error: `unknown request "${req}"` };
}

/** Split a byte stream into lines. */
function onLines(sock: Socket, each: (line: string) => void): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      each(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

export class ControlServer {
  declare readonly path: string;
  declare private readonly server: Server;
  private readonly removeAtExit = () => rmSync(this.path, { force: true });

  private constructor(server: Server, path: string) {
    this.server = server;
    this.path = path;
  }

  /** Listen for `pvkit stat`; the socket never keeps the process alive. */
  static listen(
    snapshot: () => Snapshot,
    path = controlSocketPath(),
    actions: ControlActions = {},
  ): Promise<ControlServer> {
    rmSync(path, { force: true }); // ours by name: a stale one from a process that had our pid
    const server = createServer((sock) => {
      sock.unref();
      sock.on('error', () => sock.destroy());
      // Answers go out in request order, even when one takes a while (a restart).
      let last: Promise<void> = Promise.resolve();
      onLines(sock, (line) => {
        const reply = answer(line.trim(), snapshot, actions);
        last = last.then(async () => {
          if (!sock.destroyed) sock.write(`${JSON.stringify(await reply)}\n`);
        });
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        server.unref();
        const cs = new ControlServer(server, path);
        process.once('exit', cs.removeAtExit);
        resolve(cs);
      });
    });
  }

  close(): Promise<void> {
    process.off('exit', this.removeAtExit);
    return new Promise((resolve) =>
      this.server.close(() => {
        this.removeAtExit();
        resolve();
      }),
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** VMMs with a control socket whose process is alive, by pid. */
export function findVmms(dir = tmpdir()): { pid: number; path: string }[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .flatMap((n) => {
      const m = SOCKET_RE.exec(n);
      return m ? [{ pid: Number(m[1]), path: join(dir, n) }] : [];
    })
    .filter((v) => v.pid !== process.pid && alive(v.pid))
    .sort((a, b) => a.pid - b.pid);
}

export class ControlClient {
  declare private readonly sock: Socket;
  private readonly waiting: ((line: string | null) => void)[] = [];
  /** Resolves when the VMM closes the connection (it has exited). */
  declare readonly closed: Promise<void>;

  private constructor(sock: Socket) {
    this.sock = sock;
    onLines(sock, (line) => this.waiting.shift()?.(line));
    this.closed = new Promise((r) =>
      sock.once('close', () => {
        for (const w of this.waiting.splice(0)) w(null);
        r();
      }),
    );
  }

  static connect(path: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      sock.once('error', reject);
      sock.once('connect', () => {
        sock.off('error', reject);
        sock.on('error', () => sock.destroy());
        resolve(new ControlClient(sock));
      });
    });
  }

  /** A snapshot of the VMM's counters; null once it has gone. */
  snapshot(): Promise<Snapshot | null> {
    if (this.sock.destroyed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting.push((line) => resolve(line === null ? null : (JSON.parse(line) as Snapshot)));
      this.sock.write('stats\n');
    });
  }

  /** Ask the VMM to restart a device's backend: its answer line, or null once it has gone. */
  restart(domain: string, device: string): Promise<{ ok?: string; error?: string } | null> {
    if (this.sock.destroyed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting.push((line) => resolve(line === null ? null : JSON.parse(line)));
      this.sock.write(`restart ${domain} ${device}\n`);
    });
  }

  close(): void {
    this.sock.destroy();
  }
}
