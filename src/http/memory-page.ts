/**
 * `/memory`: what each character remembers, conversation by conversation, each memory with its source (the history,
 * its position in the file, who said it and when), and a button to forget a memory or a whole conversation. Plain
 * HTML and a little script over the JSON routes of memory-routes.ts; text is inserted as text, never as markup.
 */
export const MEMORY_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Long-term memory</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;max-width:70em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em}
button{font:inherit;cursor:pointer}
.conv{border:1px solid #ccc;border-radius:6px;margin:.6em 0;padding:.5em .8em}
.conv summary{cursor:pointer}
.msg{display:flex;gap:.8em;align-items:baseline;padding:.2em 0;border-top:1px solid #eee}
.msg .when{color:#666;white-space:nowrap}.msg .who{font-weight:600;white-space:nowrap}.msg .what{flex:1}
.muted{color:#777}
</style></head>
<body>
<h1>Long-term memory</h1>
<p class="muted">What each character remembers of its past conversations (<code>chat_history/</code>). Forgetting removes a
memory from what the character recalls; the conversation itself stays in the history.</p>
<label>Character <select id="character"></select></label>
<div id="conversations"></div>
<script>
const $ = (tag, props = {}, ...children) => { const el = Object.assign(document.createElement(tag), props); el.append(...children); return el; };
const json = async (url, init) => { const res = await fetch(url, init); const body = await res.json(); if (!res.ok) throw new Error(body.error || res.statusText); return body; };
const select = document.getElementById('character');
const list = document.getElementById('conversations');
const forget = (character, history_uid, index) =>
  json('/memory/forget', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ character, history_uid, index }) });

async function showMessages(character, conv, box) {
  const { messages } = await json('/memory/messages?character=' + encodeURIComponent(character) + '&history_uid=' + encodeURIComponent(conv.history_uid));
  box.replaceChildren(...messages.map((m) => {
    const button = $('button', { textContent: 'Forget', title: 'Forget this memory' });
    const row = $('div', { className: 'msg' }, $('span', { className: 'when', textContent: m.timestamp + ' #' + m.index }), $('span', { className: 'who', textContent: (m.name || m.role) + ':' }), $('span', { className: 'what', textContent: m.content }), button);
    button.onclick = async () => { await forget(character, conv.history_uid, m.index); row.remove(); };
    return row;
  }));
}

function factRows(character, facts) {
  if (facts.length === 0) return [];
  return [$('h2', { textContent: 'Learned about the user' }), ...facts.map((f) => {
    const button = $('button', { textContent: 'Forget', title: 'Forget this fact' });
    const row = $('div', { className: 'msg' }, $('span', { className: 'when', textContent: f.timestamp.slice(0, 10) }), $('span', { className: 'what', textContent: f.fact }), $('span', { className: 'when', textContent: 'from ' + f.history_uid + ' #' + f.first_index + '–' + f.last_index }), button);
    button.onclick = async () => {
      await json('/memory/forget-fact', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ character, subject: f.subject }) });
      row.remove();
    };
    return row;
  })];
}

async function showCharacter(character) {
  const { conversations } = await json('/memory/conversations?character=' + encodeURIComponent(character));
  const { facts } = await json('/memory/facts?character=' + encodeURIComponent(character));
  if (conversations.length === 0 && facts.length === 0) { list.replaceChildren($('p', { className: 'muted', textContent: 'Nothing remembered yet.' })); return; }
  list.replaceChildren(...factRows(character, facts), $('h2', { textContent: conversations.length + ' conversations' }), ...conversations.map((conv) => {
    const box = $('div');
    const all = $('button', { textContent: 'Forget this conversation' });
    const details = $('details', { className: 'conv' }, $('summary', { textContent: conv.first.slice(0, 10) + ' – ' + conv.last.slice(0, 10) + '  ·  ' + conv.messages + ' memories  ·  ' + conv.history_uid + '  ' }, all), box);
    details.ontoggle = () => { if (details.open) showMessages(character, conv, box).catch((e) => box.replaceChildren(String(e))); };
    all.onclick = async (event) => { event.preventDefault(); if (confirm('Forget every memory of this conversation?')) { await forget(character, conv.history_uid); details.remove(); } };
    return details;
  }));
}

json('/memory/characters').then(({ characters }) => {
  select.replaceChildren(...characters.map((c) => $('option', { value: c.conf_uid, textContent: c.conf_uid + ' (' + c.messages + ')' })));
  select.onchange = () => showCharacter(select.value).catch((e) => list.replaceChildren(String(e)));
  if (characters.length > 0) select.onchange();
  else list.replaceChildren($('p', { className: 'muted', textContent: 'No character has histories yet.' }));
}).catch((e) => list.replaceChildren(String(e)));
</script>
</body></html>
`;
