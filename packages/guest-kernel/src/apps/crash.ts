import type { AppSpec } from './app.ts';

export const crash: AppSpec = {
  name: 'crash',
  usage: 'crash [message]',
  about: 'throw, to see how pvkit reports a guest that crashes',
  check: () => null,
  async main(_sys, argv) {
    throw new Error(argv.length > 0 ? argv.join(' ') : 'the crash app crashed, as asked');
  },
};
