import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { rawGet } from '../helpers/raw-http.js';
import { useTestServer } from '../helpers/server-harness.js';

/** Static files (docs/decisions.md, 17): a downloaded Live2D model (or any static folder) must not lead out of its folder through a symlink. */
describe('static files stay inside the real path of their folder', () => {
  const fixture = makeFixtureRoot();
  fixture.write('live2d-models/mao_pro/mao_pro.model3.json', '{"Version":3}');
  fixture.write('live2d-models/mao_pro/textures/texture_00.png', 'png-bytes');
  fixture.write('frontend/assets/app.js', 'console.log(1)');
  const link = (target: string, at: string) => {
    mkdirSync(path.dirname(path.join(fixture.root, at)), { recursive: true });
    symlinkSync(target, path.join(fixture.root, at));
  };
  // The two symlinks of the issue.
  link(path.join(fixture.root, 'conf.yaml'), 'live2d-models/mao_pro/texture.png');
  link('/', 'backgrounds/root');
  // More ways out: an avatar, the client build's index, a relative link climbing out.
  link(path.join(fixture.root, 'conf.yaml'), 'avatars/evil.png');
  link(path.join(fixture.root, 'conf.yaml'), 'frontend/index.html');
  link('../../conf.yaml', 'live2d-models/mao_pro/climb.json');
  // Links that stay inside their folder keep working.
  link('mao_pro', 'live2d-models/alias');
  link('textures/texture_00.png', 'live2d-models/mao_pro/texture_link.png');
  const harness = useTestServer(fixture);

  test.each([
    ['/live2d-models/mao_pro/texture.png'],
    ['/live2d-models/mao_pro/climb.json'],
    ['/bg/root/etc/passwd'],
    ['/avatars/evil.png'],
    ['/'],
    ['/index.html'],
  ])('%s is not served', async (url) => {
    const res = await rawGet(harness.server.url, url, { origin: 'http://localhost:5173' });
    expect(res.status).toBe(404);
    expect(res.body).not.toMatch(/system_config|root:x:0:0/);
  });

  test('symlinks that stay inside the folder are served', async () => {
    const viaDir = await rawGet(harness.server.url, '/live2d-models/alias/mao_pro.model3.json');
    expect(viaDir.status).toBe(200);
    expect(viaDir.body).toBe('{"Version":3}');
    const viaFile = await rawGet(harness.server.url, '/live2d-models/mao_pro/texture_link.png');
    expect(viaFile.status).toBe(200);
    expect(viaFile.body).toBe('png-bytes');
  });

  test('plain files next to the bad links are served as before', async () => {
    expect((await rawGet(harness.server.url, '/live2d-models/mao_pro/textures/texture_00.png')).status).toBe(200);
    expect((await rawGet(harness.server.url, '/assets/app.js')).status).toBe(200);
    expect((await rawGet(harness.server.url, '/bg/ceiling-window-room-night.jpeg')).status).toBe(200);
  });
});
