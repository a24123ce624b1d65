// The built-in apps, chosen by name in the domain config ("apps": ["sleep 5"]).
import type { AppSpec } from './app.ts';
import { blkbench } from './blkbench.ts';
import { blkio } from './blkio.ts';
import { blkverify } from './blkverify.ts';
import { crash } from './crash.ts';
import { evtchnPingpong } from './evtchn-pingpong.ts';
import { exit } from './exit.ts';
import { hcallBench } from './hcall-bench.ts';
import { hello } from './hello.ts';
import { idle } from './idle.ts';
import { netperf } from './netperf.ts';
import { ping } from './ping.ts';
import { seqApp } from './seq.ts';
import { sleep } from './sleep.ts';
import { udpEcho } from './udp-echo.ts';

export const APPS: ReadonlyMap<string, AppSpec> = new Map(
  [
    hello,
    sleep,
    evtchnPingpong,
    hcallBench,
    exit,
    crash,
    blkbench,
    blkverify,
    blkio,
    ping,
    udpEcho,
    idle,
    netperf,
    seqApp(() => APPS),
  ].map((a) => [a.name, a]),
);

/** A command line split into words. */
export function splitCommand(cmd: string): string[] {
  return cmd.trim().split(/\s+/).filter(Boolean);
}

/** What is wrong with an app command line (which app, what it expects), or null. */
export function appCommandError(cmd: string): string | null {
  const [name, ...argv] = splitCommand(cmd);
  if (name === undefined) return 'empty command; write an app name such as "hello"';
  const app = APPS.get(name);
  if (!app) return `unknown app "${name}"; built-in apps: ${[...APPS.keys()].join(', ')}`;
  const err = app.check(argv);
  return err ? `${name}: ${err} (usage: ${app.usage})` : null;
}
