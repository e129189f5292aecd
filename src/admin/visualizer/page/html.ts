/** The page's HTML (served at /): a frame the script fills in; everything it loads is served by the same routes. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>balancebeam · inside</title>
<link rel="stylesheet" href="/viz/uplot.css">
<link rel="stylesheet" href="/viz/style.css">
<script src="/viz/uplot.js"></script>
<script type="module" src="/viz/app.js"></script>
</head>
<body>
<header>
  <h1>balancebeam · inside</h1>
  <span class="status" id="status">connecting…</span>
  <span class="drops none" id="drops"></span>
  <span class="spacer"></span>
  <label class="status">admin token <input id="token" type="password" autocomplete="off" placeholder="for drain / restore"></label>
</header>
<div class="replay" id="replay" hidden>
  <button id="replay-play">play</button>
  <label>speed <select id="replay-speed"><option value="0.25">¼×</option><option value="1" selected>1×</option><option value="4">4×</option><option value="16">16×</option><option value="64">64×</option></select></label>
  <input type="range" id="replay-slider">
  <span id="replay-time"></span>
</div>
<div class="error-line" id="feed-error" style="padding:0 16px"></div>
<main>
  <div>
    <div class="legend"><span style="color:var(--event)">event</span><span style="color:var(--always)">always</span><span class="after" style="color:var(--after)">after (delay)</span><span style="color:var(--done)">done</span><span style="color:var(--error)">error</span><span style="color:var(--accent)">occupied (count of live actors)</span><span style="color:#e67e00">watched actor</span></div>
    <div id="charts"></div>
    <section>
      <h2>Messages between actors <span class="total" id="sequence-count"></span></h2>
      <div class="filter"><input id="actor-filter" placeholder="filter by actor, address or message type (e.g. w1/conn, p/upstream, rate-limit)"></div>
      <div class="scroll" id="sequence"></div>
    </section>
  </div>
  <aside>
    <section><h2>Actors in the chosen state</h2><div id="actors" class="scroll"><div class="muted">Click a state in a chart.</div></div></section>
    <section class="detail"><h2>Watched actor</h2><div id="detail"></div></section>
    <section><h2>Upstreams</h2><div id="upstreams"></div></section>
    <section><h2>Rate limiter</h2><div id="rate-limit"></div></section>
    <section><h2>Response cache</h2><div id="cache"></div></section>
    <section><h2>Web application firewall</h2><div id="waf"></div></section>
    <section><h2>Admin changes</h2><div id="changes" class="scroll"></div></section>
  </aside>
</main>
</body>
</html>
`;
