import { sentenceOutput } from '../src/agent/sentence-output.js';
import { flushText, pushText, type TextUnit } from '../src/agent/sentence-splitter.js';
import { flushToolJson, initialToolJson, scanToolJson } from '../src/agent/tool-call-json.js';
import type { TurnContext } from './turn-contract.js';
import type { SpeechJob } from './tts-pipeline.machine.js';
import { toolsInPrompt } from './turn-prompt.js';

/**
 * The speech planner: the model's text → sentences → what the TTS pipeline is sent, and the turn's context after it.
 * Pure functions; the turn's actions send the plan's events to its `tts` child and assign its update.
 */

export type PipelineCommand = { type: 'tts.sentence'; job: SpeechJob } | { type: 'tts.end'; total: number };

export interface SpeechPlan {
  events: PipelineCommand[];
  update: Partial<TurnContext>;
}

const splitterOptions = (context: TurnContext) => ({ fasterFirstResponse: context.fasterFirstResponse });

/** Sentences numbered from the turn's next sequence number, with their display, speech and expressions. */
function speechJobs(context: TurnContext, units: readonly TextUnit[]): PipelineCommand[] {
  return units.map((unit, i) => ({
    type: 'tts.sentence',
    job: { seq: context.seq + i, ...sentenceOutput(unit, context.emotionMap, context.preprocessor, context.showEmotionTags) },
  }));
}

/** Text → sentences; `final` flushes the splitter and tells the pipeline the total. */
function feedPlan(context: TurnContext, text: string, final: boolean): SpeechPlan {
  const options = splitterOptions(context);
  const pushed = pushText(context.splitter, text, options);
  const flushed = final ? flushText(pushed.state, options) : { state: pushed.state, units: [] };
  const { state } = flushed;
  const units = [...pushed.units, ...flushed.units];
  const total = context.seq + units.length;
  const events = speechJobs(context, units);
  if (final) events.push({ type: 'tts.end', total });
  return { events, update: { splitter: state, seq: total, reply: context.reply + text } };
}

/** A model delta: spoken at once, except (tools in the prompt) anything that may be a tool call's JSON. */
export function deltaPlan(context: TurnContext, text: string, now: number): SpeechPlan {
  const prompt = toolsInPrompt(context);
  const step = prompt ? scanToolJson(context.jsonScan, text) : { state: context.jsonScan, speak: text, calls: [] };
  const plan = feedPlan(context, step.speak, false);
  return {
    events: plan.events,
    update: {
      ...plan.update,
      roundText: context.roundText + text,
      jsonScan: step.state,
      lastOutputAt: now,
      ...(prompt ? { pendingCalls: step.calls } : {}),
    },
  };
}

/** The model's answer is complete: held-back text is spoken, the splitter flushed, the pipeline told the total. */
export function finishPlan(context: TurnContext): SpeechPlan {
  const plan = feedPlan(context, flushToolJson(context.jsonScan).speak, true);
  return { events: plan.events, update: { ...plan.update, jsonScan: initialToolJson() } };
}

/** Sentences written before the tool calls are spoken now, not after the tools ran. */
export function flushPlan(context: TurnContext): SpeechPlan {
  const { state, units } = flushText(context.splitter, splitterOptions(context));
  return { events: speechJobs(context, units), update: { splitter: state, seq: context.seq + units.length } };
}
