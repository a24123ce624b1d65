// virtio-net wire facts: device ID, feature bits and their rules, config
// space, queue numbering, the virtio_net_hdr, Ethernet framing, the Internet
// checksum and checksum offload. Pure functions; no Node-only code.
export * from './checksum.ts';
export * from './config.ts';
export * from './ethernet.ts';
export * from './features.ts';
export * from './header.ts';
export * from './offload.ts';
export * from './pvkit-config.ts';
