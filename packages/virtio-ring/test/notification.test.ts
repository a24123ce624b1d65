// When each side asks the other for a kick or an interrupt, with and
// without EVENT_IDX, and the re-check that keeps a wake-up from being lost.
import { describe, expect, test } from 'vitest';
import { needEvent } from '../src/index.ts';
import { makePair, type Pair } from './support/pair.ts';

function addPublish(p: Pair, token: number): void {
  expect(p.driver.addBuffer(p.dataBase, 8, true, token)).toBe(true);
  p.driver.publish();
}

function serveAll(p: Pair): number {
  let n = 0;
  for (let h = p.device.popHead(); h >= 0; h = p.device.popHead()) {
    p.device.push(h, 8);
    n++;
  }
  p.device.publish();
  return n;
}

test('vring_need_event: the event index inside [old, new), modulo 2^16', () => {
  expect(needEvent(5, 6, 5)).toBe(true);
  expect(needEvent(5, 5, 5)).toBe(false);
  expect(needEvent(4, 6, 5)).toBe(false); // already passed before old
  expect(needEvent(6, 6, 5)).toBe(false); // not reached yet
  expect(needEvent(0xffff, 2, 0xfffe)).toBe(true); // across the wrap
  expect(needEvent(1, 2, 0xfffe)).toBe(true);
  expect(needEvent(2, 2, 0xfffe)).toBe(false);
});

describe.each([false, true])('EVENT_IDX %s', (eventIdx) => {
  test('a device that asked for kicks gets exactly one per wake-up', () => {
    const p = makePair({ size: 8, eventIdx });
    addPublish(p, 1);
    expect(p.driver.kickNeeded()).toBe(true); // notifications start enabled
    expect(p.driver.kickNeeded()).toBe(false); // nothing new since the decision
    p.device.disableNotifications();
    expect(serveAll(p)).toBe(1);
    addPublish(p, 2);
    expect(p.driver.kickNeeded()).toBe(false); // the device is polling
    // Going back to sleep: the re-check sees entry 2, so it must not sleep.
    expect(p.device.enableNotifications()).toBe(true);
    expect(serveAll(p)).toBe(1);
    expect(p.device.enableNotifications()).toBe(false); // now empty: safe to sleep
    addPublish(p, 3);
    expect(p.driver.kickNeeded()).toBe(true);
  });

  test('a driver that asked for interrupts gets them; one that polls does not', () => {
    const p = makePair({ size: 8, eventIdx });
    addPublish(p, 1);
    serveAll(p);
    expect(p.device.interruptNeeded()).toBe(true);
    expect(p.device.interruptNeeded()).toBe(false);
    p.driver.disableInterrupts();
    for (let t = 2; t < 8; t++) addPublish(p, t);
    serveAll(p);
    expect(p.device.interruptNeeded()).toBe(false);
    // Entries arrived while interrupts were off: the re-check reports them.
    expect(p.driver.enableInterrupts()).toBe(true);
    let got = 0;
    while (p.driver.reclaim() !== undefined) got++;
    expect(got).toBe(7);
    expect(p.driver.enableInterrupts()).toBe(false);
    addPublish(p, 9);
    serveAll(p);
    expect(p.device.interruptNeeded()).toBe(true);
  });

  test('suppression holds across many wraps of the 16-bit indices', () => {
    const p = makePair({ size: 4, eventIdx });
    p.driver.disableInterrupts();
    p.device.disableNotifications();
    let kicks = 0;
    let irqs = 0;
    let lost = 0;
    for (let i = 0; i < 70_000; i++) {
      p.driver.addBuffer(p.dataBase, 8, true, i);
      p.driver.publish();
      if (p.driver.kickNeeded()) kicks++;
      serveAll(p);
      if (p.device.interruptNeeded()) irqs++;
      if (p.driver.reclaim() !== i) lost++;
    }
    expect(lost).toBe(0);
    // With EVENT_IDX suppression is a hint: a stale event index is crossed
    // again once per 65536 entries. Without it the flags are exact.
    const most = eventIdx ? 1 : 0;
    expect(kicks).toBeLessThanOrEqual(most);
    expect(irqs).toBeLessThanOrEqual(most);
  });
});

test('EVENT_IDX: an interrupt only once the driver’s used_event is crossed', () => {
  const p = makePair({ size: 8, eventIdx: true });
  p.driver.disableInterrupts();
  for (let t = 0; t < 4; t++) addPublish(p, t);
  // The driver wants to hear when entry 0 is used, then reclaims lazily.
  expect(p.driver.enableInterrupts()).toBe(false);
  expect(p.device.popHead()).toBe(0);
  p.device.push(0, 8);
  p.device.publish();
  expect(p.device.interruptNeeded()).toBe(true);
  // The driver has not reclaimed: its used_event still says 0, so no more.
  serveAll(p);
  expect(p.device.interruptNeeded()).toBe(false);
});

test('EVENT_IDX: a first decision after 65536 undecided entries still wakes the other side', () => {
  // Found by the property test: a side that polled (never asked) for a
  // whole index wrap, then starts asking, must not compute an empty window.
  const p = makePair({ size: 1, eventIdx: true });
  for (let i = 0; i < 65536; i++) {
    p.driver.addBuffer(p.dataBase, 8, true, i);
    p.driver.publish();
    p.device.push(p.device.popHead(), 8);
    p.device.publish();
    p.driver.reclaim();
  }
  expect(p.device.enableNotifications()).toBe(false); // the device sleeps
  expect(p.driver.enableInterrupts()).toBe(false); // so does the driver
  addPublish(p, 1);
  expect(p.driver.kickNeeded()).toBe(true);
  serveAll(p);
  expect(p.device.interruptNeeded()).toBe(true);
});
