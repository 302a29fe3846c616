/** An engine that runs model files of its own (llama_cpp_llm, sherpa-onnx): the files it cannot work without. */
export interface ModelFiles {
  readonly modelFiles: readonly string[];
}

export function hasModelFiles(engine: unknown): engine is ModelFiles {
  return Array.isArray((engine as Partial<ModelFiles> | undefined)?.modelFiles);
}
