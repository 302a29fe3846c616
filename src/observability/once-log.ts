/**
 * Remembers what was already said, so a warning about a character file (a missing speech engine, an unsupported
 * provider) is logged once per process, not at every switch-config of every session. Keyed by file and text, never
 * by client; shared by the whole server.
 */
export class OnceLog {
  private readonly said = new Set<string>();

  /** True the first time this (file, message) pair is seen. */
  first(file: string, message: string): boolean {
    const key = `${file}\u0000${message}`;
    if (this.said.has(key)) return false;
    this.said.add(key);
    return true;
  }
}
