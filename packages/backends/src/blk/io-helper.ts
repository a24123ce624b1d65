// An I/O helper thread of a blk queue: it claims jobs the owner published
// (io-jobs.ts), moves the bytes between the disk file and guest pages with
// readSync / writeSync on a view of the guest's SharedArrayBuffer (no copy
// of ours), and hands each job back. It uses the owner's file descriptor
// (pread/pwrite are safe from any thread) and never closes it: the owner
// closes it only after every helper has said it left.
//
// A host error fails only its own job (the owner turns it into IOERR and a
// counter); anything else thrown here is a bug, and the finally still says
// "exited" so the owner never waits for a helper that is gone.
import { readSync, writeSync } from 'node:fs';
import { type IoJobBuffers, IoJobs } from './io-jobs.ts';

export interface IoHelperData {
  role: 'blk-io-helper';
  memory: SharedArrayBuffer;
  fd: number;
  jobs: IoJobBuffers;
  /** How long to poll for the next job before sleeping, µs. */
  spinUs: number;
}

/** Sleep slices: a helper re-checks the stop word at least this often. */
const IDLE_WAIT_MS = 200;

/** Move `len` bytes between the file at `pos` and guest bytes [gpa, gpa+len). */
export function guestIo(
  fd: number,
  guest: Uint8Array,
): (write: boolean, gpa: number, len: number, pos: number) => void {
  return (write, gpa, len, pos) => {
    let done = 0;
    while (done < len) {
      const n = write
        ? writeSync(fd, guest, gpa + done, len - done, pos + done)
        : readSync(fd, guest, gpa + done, len - done, pos + done);
      if (n > 0) {
        done += n;
        continue;
      }
      // A read at end of file (a file shortened under us) reads as a hole;
      // a write that makes no progress would loop forever.
      if (write) throw Object.assign(new Error('write made no progress'), { errno: -5 });
      guest.fill(0, gpa + done, gpa + len);
      return;
    }
  };
}

export function runIoHelper(data: IoHelperData): void {
  const jobs = new IoJobs(data.jobs);
  const io = guestIo(data.fd, new Uint8Array(data.memory));
  try {
    while (!jobs.stopRequested) {
      let head = jobs.claim();
      if (head < 0) {
        // The next job usually follows within microseconds while the guest
        // streams; a futex sleep and wake costs more than that.
        const until = performance.now() + data.spinUs / 1000;
        while (head < 0 && performance.now() < until && !jobs.stopRequested) head = jobs.claim();
        if (head < 0) {
          jobs.waitWork(IDLE_WAIT_MS);
          continue;
        }
      }
      jobs.run(head, io);
    }
  } finally {
    jobs.markExited();
  }
}
