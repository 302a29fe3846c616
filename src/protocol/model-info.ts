import { z } from 'zod';

/**
 * One Live2D model of `model_dict.json`. An entry is sent to the client as it is
 * (`set-model-and-conf.model_info`), so unknown keys are kept; only what the client relies on is checked
 * (`url` must be a string: the web client calls `.startsWith` on it).
 */
export const modelInfoSchema = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  url: z.string().min(1),
  kScale: z.number().optional(),
  initialXshift: z.number().optional(),
  initialYshift: z.number().optional(),
  kXOffset: z.number().optional(),
  idleMotionGroupName: z.string().optional(),
  emotionMap: z.record(z.string(), z.union([z.number().int(), z.string()])).default({}),
  tapMotions: z.record(z.string(), z.record(z.string(), z.number())).optional(),
});

export type ModelInfo = z.infer<typeof modelInfoSchema>;
