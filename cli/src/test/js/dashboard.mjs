// Drives the coordinator's dashboard in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core) for DashboardIT: the graph has a node per stage and the edges, the
// backpressured stage is drawn in the warning colour, the page updates, and a screenshot is saved.
//
// Usage: node dashboard.mjs URL SCREENSHOT.png STAGES EDGES BACKPRESSURED_STAGE CALM_STAGE
//   STAGES: comma-separated names; EDGES: comma-separated from>to pairs.
// Prints one "ok: ..." line per check passed and "screenshot: PATH"; exits 1 on the first failure.
import { chromium } from 'playwright-core';

const [url, screenshot, stagesArg, edgesArg, hot, calm] = process.argv.slice(2);
if (!calm) {
  console.error('usage: node dashboard.mjs URL SCREENSHOT STAGES EDGES BACKPRESSURED CALM');
  process.exit(2);
}
const stages = stagesArg.split(',');
const edges = edgesArg.split(',').map(e => e.split('>'));
// --warn in dashboard.css (#f59e0b), as the browser computes it.
const WARNING = 'rgb(245, 158, 11)';

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log('ok: ' + message);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  page.on('console', m => { if (m.type() === 'error') console.log('page error: ' + m.text()); });
  page.on('pageerror', e => console.log('page exception: ' + e.message));
  await page.goto(url);

  // The graph: one node per stage, one arrow per edge.
  await page.waitForSelector('#graph g.stage', { timeout: 20000 });
  const drawn = await page.$$eval('#graph g.stage', gs => gs.map(g => g.dataset.stage));
  check(JSON.stringify([...drawn].sort()) === JSON.stringify([...stages].sort()),
    `the graph has a node per stage: ${drawn.join(', ')}`);
  const arrows = await page.$$eval('#graph path.edge', ps => ps.map(p => p.dataset.from + '>' + p.dataset.to));
  for (const [from, to] of edges) {
    check(arrows.includes(from + '>' + to), `the graph has the edge ${from} -> ${to}`);
  }
  check(arrows.length === edges.length, `the graph has exactly ${edges.length} edges`);

  // The stage before the throttled one turns to the warning colour once its backpressure shows.
  const fill = name => page.$eval(`#graph g.stage[data-stage="${name}"] rect.stage-box`,
    r => getComputedStyle(r).fill);
  await page.waitForSelector(`#graph g.stage[data-stage="${hot}"][data-backpressured="true"]`,
    { timeout: 30000 });
  const hotFill = await fill(hot);
  check(hotFill === WARNING, `${hot} is drawn in the warning colour (${hotFill})`);
  const calmFill = await fill(calm);
  check(calmFill !== WARNING, `${calm} is not (${calmFill})`);
  const hotClass = await page.$eval(`#graph g.stage[data-stage="${hot}"]`, g => g.getAttribute('class'));
  check(hotClass.split(' ').includes('backpressured'), `${hot} has the class "${hotClass}"`);

  // The page updates: the sequence moves on, and so does a rate figure (the sink's plot grows).
  const seq = () => page.$eval('#updated', e => Number(e.dataset.seq));
  const plotPoints = () => page.$eval(`svg.plot[data-stage="${calm}"] polyline.rate`,
    p => Number(p.dataset.points)).catch(() => 0);
  const rateText = () => page.$$eval('#graph text.rate', ts => ts.map(t => t.dataset.rate).join(' '));
  const seq1 = await seq();
  const points1 = await plotPoints();
  const rates1 = await rateText();
  await page.waitForTimeout(4000);
  const seq2 = await seq();
  const points2 = await plotPoints();
  check(seq2 >= seq1 + 2, `the page updated: sequence ${seq1} -> ${seq2}`);
  check(points2 > points1, `the rate plot grew: ${points1} -> ${points2} points`);
  // A throttled sink's rate can read the same for seconds, and the stages before it move in
  // flow-control bursts: give the figures up to 15 s more to show a change.
  let rates2 = await rateText();
  for (let waited = 0; rates2 === rates1 && waited < 15000; waited += 500) {
    await page.waitForTimeout(500);
    rates2 = await rateText();
  }
  check(rates1 !== rates2, `the rate figures changed: [${rates1}] -> [${rates2}]`);
  const updated = await page.$eval('#updated', e => e.textContent);
  check(/^updated \d\d:\d\d:\d\d · #\d+$/.test(updated), `the page says "${updated}"`);

  await page.screenshot({ path: screenshot, fullPage: true });
  console.log('screenshot: ' + screenshot);
} catch (e) {
  failed = true;
  console.log('FAILED: ' + e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
