// What each toolstack message does to the service. Messages arrive between
// passes (the loop reads them when the control word moves), never while a
// trap is being served, so nothing here touches the hot path.
import {
  DOMAIN_COUNTER,
  hostClockMs,
  SERVICE_COUNTER,
  VCPU_RUNSTATE,
  VIRQ,
} from '@pvkit/hypercall';
import { ServiceDomain } from './domain.ts';
import type { ToService } from './protocol.ts';
import type { Service } from './service.ts';

/** applyControl(), but a bad message fails only the domain it names, never the service. */
export function applyControlSafely(svc: Service, msg: ToService): void {
  try {
    applyControl(svc, msg);
  } catch (e) {
    const domid = 'domid' in msg ? msg.domid : msg.t === 'create' ? msg.setup.domid : -1;
    const detail = `VMM error in ${msg.t}: ${e instanceof Error ? e.message : String(e)}`;
    const d = svc.domain(domid);
    if (d) svc.crash(d, detail);
    else if (domid >= 0) svc.post({ t: 'crash', domid, detail });
  }
}

export function applyControl(svc: Service, msg: ToService): void {
  svc.counters[SERVICE_COUNTER.control] += 1;
  switch (msg.t) {
    case 'create': {
      const setup = msg.setup;
      const d = new ServiceDomain(setup, (line) =>
        svc.post({ t: 'console', domid: setup.domid, line }),
      );
      svc.admit(d);
      return;
    }
    case 'destroy': {
      const d = svc.domain(msg.domid);
      if (d) svc.teardown(d);
      svc.post({ t: 'ack', id: msg.id, ok: true });
      return;
    }
    case 'pause':
    case 'unpause': {
      const d = svc.domain(msg.domid);
      if (d) {
        const now = hostClockMs();
        if (msg.t === 'pause' && !d.paused) d.pausedAtMs = now;
        // A watchdog counts guest time: the pause must not eat into its window.
        if (msg.t === 'unpause' && d.paused) d.watchdogs.shift(now - d.pausedAtMs);
        d.paused = msg.t === 'pause';
        d.counters[DOMAIN_COUNTER.vcpu_state] = d.paused
          ? VCPU_RUNSTATE.paused
          : VCPU_RUNSTATE.running;
        svc.timersChanged();
      }
      svc.post({ t: 'ack', id: msg.id, ok: d !== undefined });
      return;
    }
    case 'virq': {
      const d = svc.domain(msg.domid);
      const port = d?.virqPorts[msg.virq];
      if (d && port) svc.raise(d, port);
      return;
    }
    case 'console-in': {
      const d = svc.domain(msg.domid);
      if (!d) return;
      d.consoleIn.push(msg.bytes);
      const port = d.virqPorts[VIRQ.console];
      if (port !== 0) svc.raise(d, port);
      return;
    }
    case 'trace':
      svc.traceInto(msg.ring);
      svc.post({ t: 'ack', id: msg.id, ok: true });
      return;
    case 'stop':
      return;
  }
}
