// @pvkit/vmm: see README.md
export {};
