import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { actorKind, type ActorCensus } from './actor-census.js';
import { isErrorCode } from '../protocol/error-codes.js';

/** The label of an error frame: its stable code (error-codes.ts), never its wording. */
export function errorCodeLabel(frame: { code?: unknown }): string {
  return isErrorCode(frame.code) ? frame.code : 'unclassified';
}

/**
 * Prometheus metrics (`GET /metrics`), all derived from the same XState inspection stream as the actor census:
 * nothing in the sessions reports to it. Timings are kept per actor only while that actor lives.
 */
export function createMetrics(census: ActorCensus, sessionCount: () => number, instanceId?: string) {
  const registry = new Registry();
  // Which instance these figures describe (system_config.cluster.instance_id or its default).
  if (instanceId) new Gauge({ name: 'vas_instance_info', help: 'This instance', labelNames: ['instance_id'], registers: [registry] }).set({ instance_id: instanceId }, 1);
  new Gauge({ name: 'vas_sessions', help: 'Connected sessions', registers: [registry], collect() { this.set(sessionCount()); } });
  new Gauge({
    name: 'vas_live_actors',
    help: 'Live actors by kind',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, n] of Object.entries(census.byKind())) this.set({ kind }, n);
    },
  });
  // One per MCP tool server process: each `sharedMcpServer` (the server's, shared by all sessions) and each
  // `mcpServer` (a session's, per_session: true) actor owns one.
  new Gauge({
    name: 'vas_mcp_processes',
    help: 'MCP tool server processes running, shared by all sessions or per session',
    labelNames: ['scope'],
    registers: [registry],
    collect() {
      const kinds = census.byKind();
      this.set({ scope: 'shared' }, kinds.sharedMcpServer ?? 0);
      this.set({ scope: 'per_session' }, kinds.mcpServer ?? 0);
    },
  });
  const turns = new Counter({ name: 'vas_turns_total', help: 'Conversation turns started', registers: [registry] });
  const interrupts = new Counter({ name: 'vas_interrupts_total', help: 'Turns interrupted by the client', registers: [registry] });
  const errors = new Counter({ name: 'vas_errors_total', help: 'Error frames sent, by code (src/protocol/error-codes.ts)', labelNames: ['code'], registers: [registry] });
  const backpressure = new Counter({
    name: 'vas_backpressure_total',
    help: 'Clients and viewers that stopped reading: audio dropped for the rest of a turn, connections closed (1013)',
    labelNames: ['action'],
    registers: [registry],
  });
  const timeouts = new Counter({ name: 'vas_playback_wait_timeouts_total', help: 'Turns whose playback wait ended by its bound', registers: [registry] });
  const buckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  const llm = new Histogram({ name: 'vas_llm_first_text_seconds', help: 'LLM request → first streamed text', buckets, registers: [registry] });
  const tts = new Histogram({ name: 'vas_tts_synthesis_seconds', help: 'One sentence synthesised', buckets, registers: [registry] });
  const asr = new Histogram({ name: 'vas_asr_seconds', help: 'One utterance transcribed', buckets, registers: [registry] });

  const started = new Map<string, number>();
  const observe = (ev: InspectionEvent) => {
    const ref = ev.actorRef as AnyActorRef;
    if (ev.type === '@xstate.actor') {
      const kind = actorKind(ref);
      if (kind === 'turn') turns.inc();
      if (kind === 'llmStream' || kind === 'synthesize' || kind === 'transcribe') started.set(ref.sessionId, performance.now());
      return;
    }
    if (ev.type === '@xstate.snapshot') {
      const status = (ev.snapshot as { status?: string }).status;
      const at = started.get(ref.sessionId);
      if (status !== 'active' && at !== undefined) {
        started.delete(ref.sessionId);
        const kind = actorKind(ref);
        if (status === 'done' && kind === 'synthesize') tts.observe((performance.now() - at) / 1000);
        if (status === 'done' && kind === 'transcribe') asr.observe((performance.now() - at) / 1000);
      }
      return;
    }
    if (ev.type !== '@xstate.event') return;
    const event = ev.event as { type: string; frame?: { type?: string; code?: unknown }; output?: { playbackTimedOut?: boolean } };
    if (event.type === 'llm.delta') {
      // The turn receives it from its `llm` child: the first one ends that child's wait.
      const child = (ref.getSnapshot() as { children?: Record<string, AnyActorRef> }).children?.llm;
      const at = child ? started.get(child.sessionId) : undefined;
      if (child && at !== undefined) {
        started.delete(child.sessionId);
        llm.observe((performance.now() - at) / 1000);
      }
    } else if (event.type === 'client.interrupt-signal') {
      if ((ref.getSnapshot() as { matches?: (v: unknown) => boolean }).matches?.({ active: 'responding' })) interrupts.inc();
    } else if (event.type === 'socket.backpressure') {
      backpressure.inc({ action: String((event as { action?: unknown }).action) });
    } else if (event.type === 'socket.send' && event.frame?.type === 'error') {
      errors.inc({ code: errorCodeLabel(event.frame) });
    } else if (event.type.startsWith('xstate.done.actor.') && event.output?.playbackTimedOut) {
      timeouts.inc();
    }
  };
  census.subscribe(observe);
  return {
    registry,
    async render(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
