// @pvkit/backends: see README.md
export {};
