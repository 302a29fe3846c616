/** `name{labels} value` lines of the server's `/metrics` (Prometheus text format), as a map. */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  for (const line of (await (await fetch(`${url}/metrics`)).text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}
