import type { AppSpec } from './app.ts';

export const exit: AppSpec = {
  name: 'exit',
  usage: 'exit <code>',
  about: 'exit at once with the given code (0..255), as true/false do in scripts',
  check: (argv) =>
    argv.length === 1 && /^\d+$/.test(argv[0]) && Number(argv[0]) <= 255
      ? null
      : `needs one exit code from 0 to 255, got "${argv.join(' ')}"`,
  async main(sys, argv) {
    return sys.exit(Number(argv[0]));
  },
};
