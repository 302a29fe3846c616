/** A translation service for the speech of a reply (upstream's `translator_config`). Aborting closes the request. */
export interface Translator {
  readonly provider: string;
  translate(text: string, signal: AbortSignal): Promise<string>;
}
