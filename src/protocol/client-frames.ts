import { z } from 'zod';

/**
 * Every client → server frame of the Open-LLM-VTuber protocol (docs/protocol.md, 'Client frames'), validated at the
 * edge. Extra fields are allowed (clients may add e.g. `request_id`); required fields are checked, so a frame that
 * would have been a silent no-op or a raw exception upstream (docs/upstream-defects.md, U4) gets one clear `error`.
 */

const imageSchema = z.looseObject({
  source: z.string().optional(),
  data: z.string(),
  mime_type: z.string().optional(),
});
const images = z.array(imageSchema).default([]);
const samples = z.array(z.number());
const uid = (what: string) =>
  z.string({ error: `"${what}" is required and must be a string` }).min(1, `"${what}" must not be empty`);

const displayText = z.looseObject({ text: z.string(), name: z.string().optional(), avatar: z.string().optional() });

export const clientFrameSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text-input'), text: z.string(), images }),
  z.looseObject({ type: z.literal('mic-audio-data'), audio: samples }),
  z.looseObject({ type: z.literal('mic-audio-end'), images }),
  z.looseObject({ type: z.literal('raw-audio-data'), audio: samples }),
  z.looseObject({ type: z.literal('ai-speak-signal'), idle_time: z.number().optional(), images }),
  z.looseObject({ type: z.literal('interrupt-signal'), text: z.string().default('') }),
  z.looseObject({ type: z.literal('audio-play-start'), display_text: displayText.nullable().optional(), forwarded: z.boolean().optional() }),
  z.looseObject({ type: z.literal('frontend-playback-complete') }),
  z.looseObject({ type: z.literal('fetch-history-list') }),
  z.looseObject({ type: z.literal('fetch-and-set-history'), history_uid: uid('history_uid') }),
  z.looseObject({ type: z.literal('create-new-history') }),
  z.looseObject({ type: z.literal('delete-history'), history_uid: uid('history_uid') }),
  z.looseObject({ type: z.literal('fetch-configs') }),
  z.looseObject({ type: z.literal('switch-config'), file: uid('file') }),
  z.looseObject({ type: z.literal('fetch-backgrounds') }),
  z.looseObject({ type: z.literal('request-group-info') }),
  z.looseObject({ type: z.literal('add-client-to-group'), invitee_uid: uid('invitee_uid') }),
  z.looseObject({ type: z.literal('remove-client-from-group'), target_uid: uid('target_uid') }),
  z.looseObject({ type: z.literal('heartbeat') }),
  z.looseObject({ type: z.literal('request-init-config'), client_id: z.string().optional() }),
]);

export type ClientFrame = z.infer<typeof clientFrameSchema>;
export type ClientFrameType = ClientFrame['type'];
export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = clientFrameSchema.options.map(
  (o) => o.shape.type.value,
) as ClientFrameType[];
