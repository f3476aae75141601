"""Inline CSS and JavaScript of the report (no framework, no network)."""

from __future__ import annotations

__all__ = ["CSS", "JS"]

CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--bg:#f5f6f8;--card:#fff;--line:#dde1e8;--accent:#2456a6;
--c0:#2456a6;--c1:#e07b22;--c2:#3a9a5b;--c3:#9b4fb0;--c4:#c23b3b;--c5:#777}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:var(--fg);background:var(--bg)}
header{background:#1d2f55;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:22px}
header .meta{opacity:.85;font-size:13px}
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);
padding:6px 24px;display:flex;gap:16px;flex-wrap:wrap}
nav a{color:var(--accent);text-decoration:none;font-weight:600}
main{padding:8px 24px 24px;max-width:1400px;margin:0 auto}
section{scroll-margin-top:44px;background:var(--card);border:1px solid var(--line);
border-radius:8px;padding:14px 18px;margin:14px 0}
h2{margin:0 0 6px;font-size:18px}
h3{margin:12px 0 6px;font-size:15px}
p.intro,.note{color:var(--muted);margin:4px 0 10px}
.note.warn{color:#8a5a00;background:#fff6e0;border-left:3px solid #e0a800;padding:6px 10px}
.charts{display:flex;flex-wrap:wrap;gap:12px 24px;align-items:flex-start}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px 24px}
.grid2>div{overflow-x:auto;min-width:0}
table.data{border-collapse:collapse;font-size:13px;margin:6px 0}
table.data th,table.data td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;
vertical-align:top}
table.data th{background:#eef1f6;font-weight:600;white-space:nowrap}
table.data td.num,table.data th.num{text-align:right;font-variant-numeric:tabular-nums}
.up{color:#1c7a3d}.down{color:#b32d2d}
svg.chart{background:#fff;max-width:100%;height:auto;font-size:11px}
svg.chart text{fill:var(--fg)}
svg.chart .title{font-weight:600;font-size:12px}
svg.chart .tick,svg.chart .cat{fill:var(--muted)}
svg.chart .grid{stroke:#eceef2}
svg.chart .axis{stroke:#8a93a3}
svg.chart .ref{stroke:#888;stroke-dasharray:4 3}
.s0{fill:var(--c0)}.s1{fill:var(--c1)}.s2{fill:var(--c2)}.s3{fill:var(--c3)}.s4{fill:var(--c4)}
.s5{fill:var(--c5)}
.s0-line,.s1-line,.s2-line,.s3-line,.s4-line,.s5-line{fill:none;stroke-width:2}
.s0-line{stroke:var(--c0)}.s1-line{stroke:var(--c1)}.s2-line{stroke:var(--c2)}
.s3-line{stroke:var(--c3)}.s4-line{stroke:var(--c4)}.s5-line{stroke:var(--c5)}
.toolbar{display:flex;gap:10px;align-items:center;flex-wrap:wrap;margin:6px 0}
.toolbar input[type=search]{font-size:14px;padding:6px 10px;min-width:260px;
border:1px solid #b8c0cc;border-radius:6px}
.toolbar select,.toolbar button{font-size:13px;padding:5px 10px;border:1px solid #b8c0cc;
border-radius:6px;background:#fff;cursor:pointer}
.toolbar button:disabled{opacity:.45;cursor:default}
#mls-table th.sortable{cursor:pointer;user-select:none}
#mls-table th.sortable::after{content:" \\2195";color:#9aa3b2}
#mls-table th.asc::after{content:" \\25B2";color:var(--accent)}
#mls-table th.desc::after{content:" \\25BC";color:var(--accent)}
#mls-table td.id{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
#mls-table ul{margin:0;padding-left:16px}
#mls-table .rt{font-weight:600;color:var(--muted);font-size:12px}
.badge{display:inline-block;padding:0 6px;border-radius:9px;background:#eef1f6;font-size:11px;
margin-left:4px;color:var(--muted)}
dl.card{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0}
dl.card dt{color:var(--muted)}dl.card dd{margin:0}
footer{color:var(--muted);font-size:12px;text-align:center;padding:10px}
@media print{nav{display:none}section{break-inside:avoid}}
"""

# The customer table. Data arrive as one columnar JSON object (see
# mlscore.report.board._table_payload); every cell is written with textContent.
JS = r"""
(function () {
  "use strict";
  function start(D) {
  var L = D.labels, T = D.targets, n = D.ids.length, PAGE = D.page_size;
  var lower = new Array(n);
  for (var i = 0; i < n; i++) { lower[i] = String(D.ids[i]).toLowerCase(); }
  var st = {key: T.length ? "score:" + T[0] : "id", dir: -1, q: "", seg: -1, page: 0};
  var order = null, view = null;
  var tbody = document.querySelector("#mls-table tbody");
  var info = document.getElementById("mls-info");
  var search = document.getElementById("mls-search");
  var segSel = document.getElementById("mls-segment");
  var prev = document.getElementById("mls-prev"), next = document.getElementById("mls-next");
  var nf = new Intl.NumberFormat(D.lang === "fr" ? "fr-FR" : "en-US");
  var nf1 = new Intl.NumberFormat(D.lang === "fr" ? "fr-FR" : "en-US",
    {minimumFractionDigits: 1, maximumFractionDigits: 1});

  function column(key) {
    if (key === "id") { return D.ids; }
    if (key === "segment") { return D.segment; }
    return D.scores[key.slice(6)];
  }
  function sortOrder() {
    var idx = new Array(n);
    for (var i = 0; i < n; i++) { idx[i] = i; }
    var col = column(st.key), dir = st.dir;
    if (st.key === "id") {
      idx.sort(function (a, b) {
        var x = D.ids[a], y = D.ids[b];
        return (x < y ? -1 : x > y ? 1 : a - b) * dir;
      });
    } else if (st.key === "segment") {
      var names = D.dict.segment;
      idx.sort(function (a, b) {
        var x = names[col[a]] || "", y = names[col[b]] || "";
        return (x < y ? -1 : x > y ? 1 : 0) * dir || a - b;
      });
    } else {
      idx.sort(function (a, b) {
        var x = col[a], y = col[b];
        if (x === null) { x = -Infinity; }
        if (y === null) { y = -Infinity; }
        return (x - y) * dir || a - b;
      });
    }
    order = idx;
  }
  function filter() {
    var q = st.q, seg = st.seg;
    if (!q && seg < 0) { view = order; return; }
    var out = [];
    for (var k = 0; k < n; k++) {
      var i = order[k];
      if (seg >= 0 && D.segment[i] !== seg) { continue; }
      if (q && lower[i].indexOf(q) < 0) { continue; }
      out.push(i);
    }
    view = out;
  }
  function td(text, cls) {
    var c = document.createElement("td");
    if (cls) { c.className = cls; }
    c.textContent = text;
    return c;
  }
  function render() {
    var pages = Math.max(1, Math.ceil(view.length / PAGE));
    if (st.page >= pages) { st.page = pages - 1; }
    var start = st.page * PAGE, stop = Math.min(view.length, start + PAGE);
    var frag = document.createDocumentFragment();
    for (var k = start; k < stop; k++) {
      var i = view[k], tr = document.createElement("tr");
      tr.appendChild(td(D.ids[i], "id"));
      for (var t = 0; t < T.length; t++) {
        var s = D.scores[T[t]][i], c = td(s === null ? "–" : nf1.format(s), "num");
        var tiers = D.tiers[T[t]];
        if (tiers && tiers[i] >= 0) {
          var b = document.createElement("span");
          b.className = "badge";
          b.textContent = D.dict["tier_" + T[t]][tiers[i]];
          c.appendChild(b);
        }
        tr.appendChild(c);
      }
      tr.appendChild(td(D.segment[i] >= 0 ? D.dict.segment[D.segment[i]] : "–"));
      tr.appendChild(td(D.action[i] >= 0 ? D.dict.action[D.action[i]] : "–"));
      var rc = document.createElement("td");
      for (t = 0; t < T.length; t++) {
        var codes = D.reasons[T[t]] ? D.reasons[T[t]][i] : null;
        if (!codes || !codes.length) { continue; }
        var h = document.createElement("div");
        h.className = "rt";
        h.textContent = D.target_labels[t];
        rc.appendChild(h);
        var ul = document.createElement("ul");
        for (var r = 0; r < codes.length; r++) {
          var li = document.createElement("li");
          li.textContent = D.dict.reason[codes[r]];
          ul.appendChild(li);
        }
        rc.appendChild(ul);
      }
      tr.appendChild(rc);
      frag.appendChild(tr);
    }
    tbody.textContent = "";
    if (!view.length) {
      var empty = document.createElement("tr"), e = td(L.no_match);
      e.colSpan = 4 + T.length;
      empty.appendChild(e);
      frag.appendChild(empty);
    }
    tbody.appendChild(frag);
    info.textContent = (view.length ? nf.format(start + 1) + "–" + nf.format(stop) : "0") +
      " " + L.of + " " + nf.format(view.length) + " " + L.matching + " · " + L.page + " " +
      nf.format(st.page + 1) + " " + L.of + " " + nf.format(pages);
    prev.disabled = st.page <= 0;
    next.disabled = st.page >= pages - 1;
    var ths = document.querySelectorAll("#mls-table th.sortable");
    for (var j = 0; j < ths.length; j++) {
      var th = ths[j], key = th.getAttribute("data-key");
      th.classList.remove("asc", "desc");
      if (key === st.key) { th.classList.add(st.dir > 0 ? "asc" : "desc"); }
      th.setAttribute("aria-sort", key === st.key ? (st.dir > 0 ? "ascending" : "descending")
        : "none");
    }
  }
  function timed(fn) {
    var t0 = performance.now();
    fn();
    render();
    document.body.setAttribute("data-last-update-ms", (performance.now() - t0).toFixed(2));
  }
  search.addEventListener("input", function () {
    timed(function () { st.q = search.value.trim().toLowerCase(); st.page = 0; filter(); });
  });
  segSel.addEventListener("change", function () {
    timed(function () { st.seg = parseInt(segSel.value, 10); st.page = 0; filter(); });
  });
  prev.addEventListener("click", function () { timed(function () { st.page -= 1; }); });
  next.addEventListener("click", function () { timed(function () { st.page += 1; }); });
  var heads = document.querySelectorAll("#mls-table th.sortable");
  for (var h = 0; h < heads.length; h++) {
    heads[h].addEventListener("click", function (ev) {
      var key = ev.currentTarget.getAttribute("data-key");
      timed(function () {
        if (st.key === key) { st.dir = -st.dir; }
        else { st.key = key; st.dir = key === "id" || key === "segment" ? 1 : -1; }
        st.page = 0; sortOrder(); filter();
      });
    });
  }
  timed(function () { sortOrder(); filter(); });
  document.body.setAttribute("data-table-ready", "1");
  }
  var plain = document.getElementById("mls-data");
  var packed = document.getElementById("mls-data-gz");
  if (plain) {
    start(JSON.parse(plain.textContent));
  } else if (packed) {
    // large tables travel gzip-compressed (base64); the browser inflates them locally
    if (typeof DecompressionStream === "undefined") {
      document.getElementById("mls-info").textContent = packed.getAttribute("data-unsupported");
      return;
    }
    var bin = atob(packed.textContent.trim()), bytes = new Uint8Array(bin.length);
    for (var b = 0; b < bin.length; b++) { bytes[b] = bin.charCodeAt(b); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    new Response(stream).text().then(function (text) { start(JSON.parse(text)); });
  }
})();
"""
