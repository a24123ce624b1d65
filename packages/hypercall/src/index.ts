// @pvkit/hypercall: the pvkit hypercall ABI (numbers, layouts), the
// guest-side stub, and the one function that raises an event. No node:
// imports: this package runs in browser workers as well. See README.md.
export * from './abi-doc.ts';
export * from './counters.ts';
export * from './events.ts';
export * from './layout.ts';
export * from './mailbox.ts';
export * from './numbers.ts';
export * from './time.ts';
export * from './trace.ts';
export * from './vcpu.ts';
