// A minimal hypervisor service for the stub tests: answers `count` traps.
// nr 1 returns the sum of the args, nr 2 echoes arg 0, anything else -ENOSYS.
// mode "slow": answer 20 ms late (the guest must fall asleep and be woken);
// mode "doorbell": sleep on the service doorbell before each trap.
import { workerData } from 'node:worker_threads';
import {
  MAILBOX,
  MAILBOX_STATE,
  mailboxAnswer,
  mailboxArg,
  SERVICE_DOORBELL,
} from '../src/index.ts';

const { mailbox, doorbell, count, mode } = workerData as {
  mailbox: SharedArrayBuffer;
  doorbell: SharedArrayBuffer;
  count: number;
  mode: 'spin' | 'slow' | 'doorbell';
};
const m = new Int32Array(mailbox);
const db = new Int32Array(doorbell);
const pause = new Int32Array(new SharedArrayBuffer(4));

for (let served = 0; served < count; served++) {
  if (mode === 'doorbell') {
    Atomics.store(m, MAILBOX.svc_sleeping, 1);
    const seq = Atomics.load(db, SERVICE_DOORBELL.seq);
    if (Atomics.load(m, MAILBOX.state) !== MAILBOX_STATE.request)
      Atomics.wait(db, SERVICE_DOORBELL.seq, seq, 10_000);
    Atomics.store(m, MAILBOX.svc_sleeping, 0);
  }
  while (Atomics.load(m, MAILBOX.state) !== MAILBOX_STATE.request) {}
  if (mode === 'slow') Atomics.wait(pause, 0, 0, 20);
  const nr = m[MAILBOX.nr];
  let r = -38;
  if (nr === 1) r = [0, 1, 2, 3, 4, 5].reduce((s, i) => s + mailboxArg(m, i), 0);
  else if (nr === 2) r = mailboxArg(m, 0);
  mailboxAnswer(m, r);
}
