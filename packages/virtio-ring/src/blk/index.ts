// virtio-blk wire format: constants, request header and segments, GET_ID
// string, config space. No Node modules: this runs in browser workers too.
export * from './config.ts';
export * from './constants.ts';
export * from './request.ts';
