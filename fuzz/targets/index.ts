// Every fuzz target, in the order `pnpm fuzz` runs them. Add a target here.
import type { FuzzTarget } from '../lib/runner.ts';
import { blkRequestTarget } from './blk-request.ts';
import { hypercallTarget } from './hypercall.ts';
import { netTx } from './net-tx.ts';
import { virtqueueDevice } from './virtqueue-device.ts';
import { virtqueueDiff } from './virtqueue-diff.ts';

export const TARGETS: readonly FuzzTarget[] = [
  virtqueueDevice,
  virtqueueDiff,
  blkRequestTarget,
  netTx,
  hypercallTarget,
];
