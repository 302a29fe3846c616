/** Served at `/` when no client build was put in `frontend/`: tells the user how to connect one. */
export function landingPage(origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vtuber-actor-server</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem}code{background:#eee;padding:0 .25em}</style>
</head><body>
<h1>vtuber-actor-server is running</h1>
<p>This server speaks the Open-LLM-VTuber protocol. Connect a client to it:</p>
<ul>
<li><b>Web or desktop client</b>: in Settings → General set <i>WebSocket URL</i> to <code>${ws}/client-ws</code>
and <i>Base URL</i> to <code>${origin}</code>, then save.</li>
<li><b>Serve the web client from here</b>: the first start fetches it into <code>frontend/</code>; if that failed
(the log says why), run <code>npm run client:update</code>, or put a build of Open-LLM-VTuber-Web (its
<code>build</code> branch) in a folder named <code>frontend/</code> next to <code>conf.yaml</code>, then reload this page.</li>
</ul>
<p>Health: <a href="/healthz">/healthz</a></p>
</body></html>
`;
}
