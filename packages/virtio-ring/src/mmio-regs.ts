// The virtio-mmio version 2 register block (VIRTIO 1.2 §4.2.2): offsets
// from the block's base. Registers below CONFIG are 32 bits wide and must
// be accessed as such; device config space starts at CONFIG.

export const VIRTIO_MMIO = {
  MAGIC_VALUE: 0x000,
  VERSION: 0x004,
  DEVICE_ID: 0x008,
  VENDOR_ID: 0x00c,
  DEVICE_FEATURES: 0x010,
  DEVICE_FEATURES_SEL: 0x014,
  DRIVER_FEATURES: 0x020,
  DRIVER_FEATURES_SEL: 0x024,
  QUEUE_SEL: 0x030,
  QUEUE_NUM_MAX: 0x034,
  QUEUE_NUM: 0x038,
  QUEUE_READY: 0x044,
  QUEUE_NOTIFY: 0x050,
  INTERRUPT_STATUS: 0x060,
  INTERRUPT_ACK: 0x064,
  STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080,
  QUEUE_DESC_HIGH: 0x084,
  QUEUE_DRIVER_LOW: 0x090,
  QUEUE_DRIVER_HIGH: 0x094,
  QUEUE_DEVICE_LOW: 0x0a0,
  QUEUE_DEVICE_HIGH: 0x0a4,
  CONFIG_GENERATION: 0x0fc,
  CONFIG: 0x100,
} as const;

/** "virt" in little-endian. */
export const VIRTIO_MMIO_MAGIC = 0x74726976;
export const VIRTIO_MMIO_VERSION = 2;

/** InterruptStatus / InterruptACK bits. */
export const VIRTIO_MMIO_INT = {
  /** A used buffer notification. */
  VRING: 1,
  /** The configuration changed. */
  CONFIG: 2,
} as const;

/** Anything that reads and writes a register block: the model itself, or a guest's hypercall stub. */
export interface RegisterAccess {
  read(offset: number, size?: number): number;
  write(offset: number, value: number, size?: number): void;
}
