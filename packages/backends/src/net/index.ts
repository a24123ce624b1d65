// The network backends: the pure parts (the learning switch's decisions and
// MAC table, QEMU's dgram and stream framings, NIC config) and the pieces
// the workers are built from (a NIC's queues, tx frames, rx delivery, the
// switch engine, waiting on many doorbells, the wires). The worker entries
// themselves (switch-worker.ts, wire-worker.ts) are started by the VMM.
export * from './counters.ts';
export * from './device.ts';
export * from './dgram-framing.ts';
export * from './doorbell-wait.ts';
export * from './mac-table.ts';
export * from './nic-config.ts';
export * from './port.ts';
export * from './rx-writer.ts';
export * from './segments.ts';
export * from './stream-framing.ts';
export * from './switch-core.ts';
export * from './switch-engine.ts';
export * from './switch-protocol.ts';
export * from './tx-frame.ts';
export * from './wire.ts';
