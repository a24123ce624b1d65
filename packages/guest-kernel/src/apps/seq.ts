// seq <command> ; <command> ...: run apps one after another in one task and
// stop at the first that fails, as a shell's `&&` does. The apps of a
// domain's list run concurrently; seq orders those that must not overlap
// (the demo pings its peer before it floods the link with a UDP stream).
import { AppExit } from '../syscalls.ts';
import type { AppSpec } from './app.ts';

/** The commands of a seq argv: the words between ";" words. */
function split(argv: readonly string[]): string[][] {
  const out: string[][] = [[]];
  for (const w of argv) {
    if (w === ';') out.push([]);
    else out[out.length - 1].push(w);
  }
  return out;
}

/** `apps` is looked up when seq runs (the registry holds seq itself). */
export function seqApp(apps: () => ReadonlyMap<string, AppSpec>): AppSpec {
  return {
    name: 'seq',
    usage: 'seq <command> ; <command> ...',
    about: 'run apps one after another; stop at the first non-zero exit',
    check(argv) {
      const cmds = split(argv);
      for (const [i, [name, ...rest]] of cmds.entries()) {
        if (name === undefined) return `command ${i + 1} is empty (write "app args ; app args")`;
        if (name === 'seq') return 'a seq cannot hold another seq';
        const app = apps().get(name);
        if (!app) return `unknown app "${name}"`;
        const err = app.check(rest);
        if (err) return `${name}: ${err} (usage: ${app.usage})`;
      }
      return null;
    },
    async main(sys, argv) {
      for (const [name, ...rest] of split(argv)) {
        const app = apps().get(name) as AppSpec;
        let code: number;
        try {
          code = (await app.main({ ...sys, argv: rest }, rest)) ?? 0;
        } catch (e) {
          if (!(e instanceof AppExit)) throw e;
          code = e.code;
        }
        if (code !== 0) {
          sys.print(`seq: "${[name, ...rest].join(' ')}" exited with ${code}; the rest is skipped`);
          return code;
        }
      }
      return 0;
    },
  };
}
