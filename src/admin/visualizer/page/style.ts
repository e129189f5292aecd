/** The page's stylesheet (served as /viz/style.css). Chart colours by trigger kind: the legend repeats them. */
export const PAGE_CSS = `
:root { --ink:#1d2430; --muted:#5b6472; --line:#d5dae1; --panel:#ffffff; --bg:#f3f5f8; --accent:#1463d6; --live:#e8f1ff;
  --event:#2b3442; --always:#7a2e9a; --after:#c25f00; --done:#1f7a3a; --error:#b3261e; --dead:#c62828; --healthy:#2e7d32; }
* { box-sizing: border-box; }
body { margin:0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color:var(--ink); background:var(--bg); }
header { display:flex; align-items:center; gap:16px; padding:8px 16px; background:#101722; color:#e8edf5; position:sticky; top:0; z-index:5; }
header h1 { font-size:15px; margin:0; font-weight:600; letter-spacing:.02em; }
header .status { font-size:12px; color:#aab4c3; }
header .status b { color:#fff; font-weight:600; }
header .spacer { flex:1; }
header input { font:inherit; padding:3px 6px; border-radius:4px; border:1px solid #3a4656; background:#1b2431; color:#fff; width:180px; }
.drops { color:#ffb74d; }
.drops.none { color:#8fa0b5; }
main { display:grid; grid-template-columns: minmax(0, 1fr) 420px; gap:12px; padding:12px; }
section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px; margin-bottom:12px; }
section h2 { font-size:13px; margin:0 0 8px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); display:flex; gap:8px; align-items:center; }
section h2 .total { margin-left:auto; text-transform:none; letter-spacing:0; color:var(--ink); font-weight:500; }
.chart-wrap { overflow-x:auto; }
svg.chart { display:block; max-width:100%; height:auto; }
svg.chart .box { fill:#fbfcfd; stroke:#8a95a5; stroke-width:1; }
svg.chart .leaf > .box { fill:#fff; stroke:#56627a; cursor:pointer; }
svg.chart .container:not(.root) > .box { cursor:pointer; }
svg.chart .root > .box { fill:#f8f9fb; stroke:#c3cad4; }
svg.chart .state.occupied > .box { fill:var(--live); stroke:var(--accent); stroke-width:2; }
svg.chart .state.selected > .box { stroke:#f39c12; stroke-width:3; }
svg.chart .state.watched > .box { fill:#fff4d6; stroke:#e67e00; stroke-width:3; }
svg.chart .title { font-weight:600; font-size:12px; fill:var(--ink); pointer-events:none; }
svg.chart .row { fill:#4a5466; pointer-events:none; }
svg.chart .count { font-weight:700; font-size:12px; fill:var(--accent); pointer-events:none; font-variant-numeric: tabular-nums; }
svg.chart .edge { fill:none; stroke:var(--event); stroke-width:1.3; }
svg.chart .label { fill:var(--event); paint-order:stroke; stroke:#fff; stroke-width:3.5px; stroke-linejoin:round; }
svg.chart .trigger-always { stroke:var(--always); } svg.chart .label.trigger-always { fill:var(--always); stroke:#fff; }
svg.chart .trigger-after { stroke:var(--after); stroke-dasharray:5 3; } svg.chart .label.trigger-after { fill:var(--after); stroke:#fff; stroke-dasharray:none; }
svg.chart .trigger-done { stroke:var(--done); } svg.chart .label.trigger-done { fill:var(--done); stroke:#fff; }
svg.chart .trigger-error { stroke:var(--error); } svg.chart .label.trigger-error { fill:var(--error); stroke:#fff; }
svg.chart .arrow.trigger-event path, svg.chart .arrow.trigger-initial path { fill:var(--event); stroke:none; }
svg.chart .arrow.trigger-always path { fill:var(--always); stroke:none; }
svg.chart .arrow.trigger-after path { fill:var(--after); stroke:none; }
svg.chart .arrow.trigger-done path { fill:var(--done); stroke:none; }
svg.chart .arrow.trigger-error path { fill:var(--error); stroke:none; }
svg.chart .edge.trigger-initial { stroke:#000; }
svg.chart .initial { fill:#000; }
svg.chart .any-state rect { fill:#fff; stroke:#9aa3b0; stroke-dasharray:3 2; }
svg.chart .any-state text { fill:var(--muted); font-size:10px; }
svg.chart .transition.fired .edge { stroke-width:3; }
.legend { display:flex; gap:12px; font-size:11px; color:var(--muted); flex-wrap:wrap; }
.legend span::before { content:""; display:inline-block; width:18px; height:0; border-top:2px solid currentColor; vertical-align:middle; margin-right:4px; }
.legend .after::before { border-top-style:dashed; }
table { border-collapse:collapse; width:100%; font-size:12px; }
th, td { text-align:left; padding:3px 6px; border-bottom:1px solid #edf0f3; white-space:nowrap; }
th { color:var(--muted); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
tr.clickable { cursor:pointer; } tr.clickable:hover { background:#f0f5ff; }
.scroll { max-height:300px; overflow:auto; }
.pill { display:inline-block; padding:0 6px; border-radius:9px; font-size:11px; font-weight:600; }
.pill.healthy { background:#e5f4e7; color:var(--healthy); } .pill.dead { background:#fde8e8; color:var(--dead); } .pill.draining { background:#fff3dd; color:#a15c00; }
.timeline { display:flex; height:14px; border-radius:3px; overflow:hidden; background:#eee; margin:4px 0 2px; }
.timeline div { height:100%; }
.timeline .healthy { background:#66bb6a; } .timeline .dead { background:#e53935; }
.timeline-caption { font-size:11px; color:var(--muted); display:flex; justify-content:space-between; }
.upstream { border-top:1px solid #edf0f3; padding:8px 0; }
.upstream:first-child { border-top:none; }
.upstream .head { display:flex; gap:8px; align-items:center; }
.upstream .head code { font-weight:600; }
.upstream .head .buttons { margin-left:auto; display:flex; gap:4px; }
.plots { display:grid; grid-template-columns: 1fr 1fr 1fr; gap:6px; }
.plots.single { grid-template-columns: 1fr; }
.totals { font-size:12px; margin-bottom:4px; }
tr.waf-flagged td:last-child { white-space:normal; word-break:break-word; }
#waf-recent th:nth-child(1) { width:76px; } #waf-recent th:nth-child(2) { width:62px; } #waf-recent th:nth-child(3) { width:64px; } #waf-recent th:nth-child(4) { width:64px; }
.plot-title { font-size:11px; color:var(--muted); }
button { font:inherit; font-size:12px; padding:2px 8px; border-radius:4px; border:1px solid #b9c2ce; background:#fff; cursor:pointer; }
button:hover { background:#eef3fb; } button:disabled { opacity:.45; cursor:default; }
.detail pre { background:#f6f8fa; padding:6px; border-radius:4px; max-height:260px; overflow:auto; font-size:11px; margin:4px 0; }
.muted { color:var(--muted); }
.filter { display:flex; gap:6px; margin-bottom:6px; } .filter input { flex:1; font:inherit; padding:2px 6px; border:1px solid #c3cad4; border-radius:4px; }
.replay[hidden] { display:none; }
.replay { display:flex; align-items:center; gap:8px; padding:6px 16px; background:#1b2431; color:#e8edf5; position:sticky; top:37px; z-index:4; }
.replay input[type=range] { flex:1; }
.error-line { color:var(--error); font-size:12px; }
.u-title { font-size:11px !important; font-weight:600 !important; color:var(--muted); }
.plots > div { min-width:0; overflow:hidden; }
aside table { table-layout:fixed; }
aside td, aside th { overflow:hidden; text-overflow:ellipsis; }
.detail .events td:first-child, .detail .messages td:first-child { width:92px; }
`;
