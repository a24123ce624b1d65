// Switch backpressure in one thread: a unicast frame whose receiver has no
// rx buffer waits in its sender's tx ring (the chain is not completed) for
// up to SWITCH_HOLD_MS; then it is dropped and counted, and the receiver is
// stalled (frames for it dropped at once) until it posts buffers again.
// Broadcasts never wait.
import { describe, expect, test } from 'vitest';
import { SWITCH_HOLD_MS, SwitchEngine } from '../src/net/index.ts';
import {
  ALL,
  BCAST,
  type Guest,
  guest,
  received,
  send,
  udpFrame,
} from './support/switch-guests.ts';

/** Give `g` its rx buffers `slots` back (as a driver refills). */
function repost(g: Guest, slots: number[]): void {
  for (const s of slots) g.rx.addBuffer(g.rxBuf + s * g.rxSize, g.rxSize, true, s);
  g.rx.publish();
}

/** Tx chains of `g` the switch has completed. */
function completed(g: Guest): number[] {
  const out: number[] = [];
  for (let t = g.tx.reclaim(); t !== undefined; t = g.tx.reclaim()) out.push(t);
  return out;
}

/** a and b on a switch, each knowing the other's port; b has `rxCount` rx buffers. */
function pair(rxCount: number) {
  const e = new SwitchEngine();
  const a = guest(e, ALL);
  const b = guest(e, ALL, 2048, rxCount);
  send(b, udpFrame(b, a.mac, 10, false), 0);
  e.pass(0);
  received(a);
  completed(b);
  return { e, a, b };
}

describe('backpressure', () => {
  test('a frame for a full receiver waits in the tx ring and goes once a buffer comes back', () => {
    const { e, a, b } = pair(1);
    for (let i = 0; i < 3; i++) send(a, udpFrame(a, b.mac, 64 + i, false), i);
    expect(e.pass(1)).toBe(1);
    expect(e.held).toBe(1);
    expect(completed(a)).toEqual([0]); // the held chain is not completed
    expect(received(b).map((r) => r.frame.length)).toEqual([14 + 28 + 64]);
    expect(a.port.counter('txHeld')).toBe(1);
    expect(e.pass(1.5)).toBe(0); // still no buffer: still held, nothing lost
    expect(b.port.counter('rxDropped')).toBe(0);
    repost(b, [0]);
    expect(e.pass(2)).toBe(1);
    expect(received(b).map((r) => r.frame.length)).toEqual([14 + 28 + 65]);
    expect(completed(a)).toEqual([1]);
    // The third frame now waits in turn.
    expect(e.held).toBe(1);
    repost(b, [0]);
    e.pass(2.5);
    expect(received(b).map((r) => r.frame.length)).toEqual([14 + 28 + 66]);
    expect(completed(a)).toEqual([2]);
    expect(e.held).toBe(0);
    expect(b.port.counter('rxDropped')).toBe(0);
  });

  test('after SWITCH_HOLD_MS the frame is dropped and the receiver stalled until it refills', () => {
    const { e, a, b } = pair(0);
    for (let i = 0; i < 3; i++) send(a, udpFrame(a, b.mac, 64, false), i);
    expect(e.pass(10)).toBe(0);
    expect(e.held).toBe(1);
    expect(e.pass(10 + SWITCH_HOLD_MS / 2)).toBe(0);
    // Too long: dropped, and the next frames for b do not wait either.
    expect(e.pass(10 + SWITCH_HOLD_MS)).toBe(3);
    expect(e.held).toBe(0);
    expect(completed(a)).toEqual([0, 1, 2]);
    expect(b.port.counter('rxDropped')).toBe(3);
    expect(b.port.stalled).toBe(true);
    // One buffer is not enough to be waited for again: this frame finds it...
    repost(b, [0]);
    send(a, udpFrame(a, b.mac, 64, false), 3);
    send(a, udpFrame(a, b.mac, 64, false), 4);
    expect(e.pass(20)).toBe(2);
    expect(received(b)).toHaveLength(1);
    expect(b.port.counter('rxDropped')).toBe(4); // ...and the next is dropped at once
    // A refilled ring (a quarter of it, here all 32) ends the stall.
    repost(b, [...Array(32).keys()]);
    send(a, udpFrame(a, b.mac, 64, false), 5);
    e.pass(21);
    expect(b.port.stalled).toBe(false);
    expect(received(b)).toHaveLength(1);
  });

  test('broadcasts never wait: a port with no buffer loses them, the sender goes on', () => {
    const { e, a, b } = pair(0);
    for (let i = 0; i < 3; i++) send(a, udpFrame(a, BCAST, 64, false), i);
    expect(e.pass(1)).toBe(3);
    expect(e.held).toBe(0);
    expect(b.port.counter('rxDropped')).toBe(3);
    expect(a.port.counter('txHeld')).toBe(0);
  });

  test('a receiver unplugged while a frame waits for it: the chain still completes', () => {
    const { e, a, b } = pair(0);
    send(a, udpFrame(a, b.mac, 64, false), 0);
    e.pass(1);
    expect(e.held).toBe(1);
    e.remove(b.port.id);
    expect(e.pass(2)).toBe(1);
    expect(completed(a)).toEqual([0]);
  });
});
