// Pure parts of the network backends: the learning switch's decisions and
// MAC table, and the wire framings QEMU uses for `-netdev dgram` and
// `-netdev stream`. No sockets here; the backend workers own those.
export * from './dgram-framing.ts';
export * from './mac-table.ts';
export * from './stream-framing.ts';
export * from './switch-core.ts';
