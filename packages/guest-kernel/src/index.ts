// @pvkit/guest-kernel: see README.md
export {};
