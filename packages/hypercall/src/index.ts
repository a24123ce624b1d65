// @pvkit/hypercall: see README.md
export {};
