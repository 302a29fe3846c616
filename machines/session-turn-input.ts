import type { AnyActorRef } from 'xstate';
import type { GroupTurnRequest } from './group-protocol.js';
import type { SessionContext, SessionEvent } from './session-contract.js';
import type { TurnInput, TurnTrigger } from './turn.machine.js';
import { speakerOf } from './session-history.js';

/** What a turn is given: the session's trigger, character, memory and limits (pure functions of the context). */

export function textTrigger(event: Extract<SessionEvent, { type: 'client.text-input' }>): TurnTrigger {
  return { kind: 'text', text: event.frame.text, images: event.frame.images };
}

export function voiceTrigger(context: SessionContext, event: Extract<SessionEvent, { type: 'client.mic-audio-end' }>): TurnTrigger {
  const samples = new Float32Array(context.mic.samples);
  let at = 0;
  for (const chunk of context.mic.chunks) {
    samples.set(chunk, at);
    at += chunk.length;
  }
  return { kind: 'audio', samples, images: event.frame.images };
}

export function proactiveTrigger(context: SessionContext, event: Extract<SessionEvent, { type: 'client.ai-speak-signal' }>): TurnTrigger {
  return { kind: 'proactive', prompt: context.character!.runtime.proactivePrompt, images: event.frame.images };
}

export function turnInput(context: SessionContext, toolbox?: AnyActorRef): TurnInput {
  const character = context.character!;
  const { runtime, config, modelInfo } = character;
  const tools =
    runtime.mcp && toolbox
      ? {
          toolbox,
          // An engine that takes tools only in its prompt starts there; others switch when their model refuses `tools`.
          mode: runtime.llm.toolStyle === 'prompt' ? 'prompt' : context.toolMode,
          maxSteps: context.limits.mcpMaxSteps,
          promptTemplate: runtime.mcp.promptTemplate,
          // The longest any of its servers may take to start and to answer (a server's own `timeout` wins).
          answerBoundMs:
            context.limits.mcpStartTimeoutMs + Math.max(context.limits.mcpCallTimeoutMs, ...Object.values(runtime.mcp.servers).map((s) => (s.timeout ?? 0) * 1000)),
        }
      : undefined;
  return {
    clientUid: context.clientUid,
    trigger: context.trigger!,
    speaker: speakerOf(context),
    emotionMap: modelInfo.emotionMap,
    showEmotionTags: runtime.showEmotionTags,
    preprocessor: config.tts_preprocessor_config,
    fasterFirstResponse: runtime.fasterFirstResponse,
    system: runtime.systemPrompt,
    memory: context.memory,
    engines: { llm: runtime.llm, tts: runtime.tts, asr: runtime.asr },
    clock: context.clock!,
    asrUnavailable: runtime.asrUnavailable,
    ttsConcurrency: context.limits.ttsConcurrency,
    playbackSlackMs: context.limits.playbackSlackMs,
    record: { deadlineMs: context.limits.historyWriteDeadlineMs },
    deadlines: context.limits.deadlines,
    ...(tools ? { tools } : {}),
    ...(context.limits.recall
      ? {
          recall: {
            ...context.limits.recall,
            confUid: config.conf_uid,
            historyUid: context.historyUid,
            names: { human: config.human_name, ai: config.character_name },
          },
        }
      : {}),
  };
}

/** A member turn of a group conversation: the lines it has not seen as its input, the group prompt in its system. */
export function groupTurnInput(context: SessionContext, request: GroupTurnRequest, toolbox?: AnyActorRef): TurnInput {
  const runtime = context.character!.runtime;
  const trigger: TurnTrigger = request.proactive
    ? { kind: 'proactive', prompt: runtime.proactivePrompt, images: request.images }
    : { kind: 'text', text: request.text, images: request.images };
  // The group conversation records its members' turns itself (`turn.finished`), then lets the chain end.
  const base = turnInput({ ...context, trigger }, toolbox);
  const groupPrompt = runtime.groupPrompt
    .replaceAll('{human_name}', request.humanName)
    .replaceAll('{other_ais}', request.otherAis.join(', ') || 'none');
  return { ...base, system: groupPrompt.trim() ? `${base.system}\n\n${groupPrompt.trim()}` : base.system };
}
