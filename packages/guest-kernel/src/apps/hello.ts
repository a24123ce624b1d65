import type { AppSpec } from './app.ts';

export const hello: AppSpec = {
  name: 'hello',
  usage: 'hello [name]',
  about: 'print a greeting and exit 0',
  check: (argv) => (argv.length > 1 ? 'takes at most one word' : null),
  async main(sys, argv) {
    sys.print(`Hello, ${argv[0] ?? 'world'}, from ${sys.domain} (domid ${sys.domid})!`);
    return 0;
  },
};
