// A config file from the command line: read, parsed and validated before
// anything starts; every problem is one line (ConfigError) naming the file.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, type DomainConfig, parseConfig } from '../config/schema.ts';

export function loadConfigFile(file: string): DomainConfig[] {
  if (!existsSync(file))
    throw new ConfigError(
      `${file}: no such file (give the path of a domain config, e.g. packages/vmm/examples/hello.json)`,
    );
  if (statSync(file).isDirectory())
    throw new ConfigError(`${file}: is a directory (give the path of a domain config .json file)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const base = dirname(resolve(file));
  const resolveKernel = (p: string) => {
    const abs = resolve(base, p);
    if (!existsSync(abs))
      throw new ConfigError(`${file}: kernel "${p}" does not exist (looked at ${abs})`);
    return abs;
  };
  try {
    const configs = parseConfig(raw, resolveKernel);
    for (const c of configs) c.baseDir = base;
    return configs;
  } catch (e) {
    if (e instanceof ConfigError && !e.message.startsWith(file))
      throw new ConfigError(`${file}: ${e.message}`);
    throw e;
  }
}
