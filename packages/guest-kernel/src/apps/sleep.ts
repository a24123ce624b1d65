import type { AppSpec } from './app.ts';

const SECONDS = /^(\d+(\.\d*)?|\.\d+)$/;

export const sleep: AppSpec = {
  name: 'sleep',
  usage: 'sleep <seconds>',
  about: 'sleep on the timer, then exit 0 (reports how late the wake-up was)',
  check: (argv) =>
    argv.length !== 1 || !SECONDS.test(argv[0])
      ? `needs one number of seconds, got "${argv.join(' ')}"`
      : null,
  async main(sys, argv) {
    const ms = Number(argv[0]) * 1000;
    const start = sys.now();
    await sys.sleep(ms);
    const late = sys.now() - start - ms;
    sys.print(`sleep: slept ${argv[0]} s (woke ${late.toFixed(3)} ms late)`);
    return 0;
  },
};
