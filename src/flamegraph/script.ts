/**
 * The inline JavaScript of the interactive flame graph (placed at the end of the SVG, inside CDATA, so the frames
 * are already parsed when it runs). Plain ES2015 on purpose: it runs in whatever browser opens the file.
 *
 * Structure it relies on (written by svg.ts): `#frames` holds one `<g>` per frame containing, in this order,
 * `<title>name (N samples, P%)</title>`, `<rect x y width height fill>` and `<text x y>label</text>`;
 * text elements #details, #matched, #search, #ignorecase and #unzoom.
 *
 * - click a frame: zoom (it fills the width, ancestors dimmed, everything outside hidden); "Reset Zoom",
 *   clicking the root, or Escape undoes it
 * - "Search" / Ctrl-F / F3: prompt for a regular expression; matches are highlighted and "Matched: X%" gives the
 *   share of the current view they cover (overlapping matches, e.g. recursion, counted once); Escape clears
 * - "ic" / Ctrl-I: toggle case-insensitive search
 * - zoom (x, y of the frame) and search (s, ic) live in the URL query (or the hash when the page cannot rewrite its
 *   URL) and are restored on load
 * - hovering a frame shows its tooltip text in the details line at the bottom
 *
 * `__FLAMEGRAPH_CONFIG__` is replaced by a JSON object: width, xpad, fontSize, fontWidth, inverted, nameType.
 */
export const CONFIG_PLACEHOLDER = '__FLAMEGRAPH_CONFIG__';

export const FLAMEGRAPH_SCRIPT = String.raw`(function () {
  "use strict";
  var cfg = __FLAMEGRAPH_CONFIG__;
  var W = cfg.width, XPAD = cfg.xpad, FS = cfg.fontSize, FW = cfg.fontWidth, INV = cfg.inverted, NT = cfg.nameType;
  var FULL = W - 2 * XPAD, EPS = 1e-4, HIGHLIGHT = "rgb(230,0,230)";
  var frames = [], byG = new Map();
  var framesG, details, matchedEl, searchBtn, icBtn, unzoomBtn;
  var zoomed = null, term = null, ignorecase = false;

  function byId(id) { return document.getElementById(id); }
  function nextEl(el, tag) {
    while (el && el.localName !== tag) el = el.nextElementSibling;
    return el;
  }

  function init() {
    framesG = byId("frames"); details = byId("details"); matchedEl = byId("matched");
    searchBtn = byId("search"); icBtn = byId("ignorecase"); unzoomBtn = byId("unzoom");
    if (!framesG) return;
    for (var g = framesG.firstElementChild; g; g = g.nextElementSibling) {
      var title = nextEl(g.firstElementChild, "title");
      var rect = nextEl(g.firstElementChild, "rect");
      if (!rect) continue;
      var text = nextEl(rect, "text");
      var info = title ? title.textContent : "";
      var cut = info.lastIndexOf(" (");
      var f = {
        g: g, rect: rect, text: text, info: info, name: cut >= 0 ? info.slice(0, cut) : info,
        x: parseFloat(rect.getAttribute("x")), w: parseFloat(rect.getAttribute("width")),
        y: parseFloat(rect.getAttribute("y")), fill: rect.getAttribute("fill"), hit: false, hidden: false
      };
      f.cx = f.x; f.cw = f.w;
      frames.push(f);
      byG.set(g, f);
    }
    framesG.addEventListener("click", function (ev) {
      var f = frameOf(ev.target);
      if (f) zoom(f);
    });
    framesG.addEventListener("mouseover", function (ev) {
      var f = frameOf(ev.target);
      if (f && details) details.textContent = NT + " " + f.info;
    });
    framesG.addEventListener("mouseout", function () {
      if (details) details.textContent = " ";
    });
    if (unzoomBtn) unzoomBtn.addEventListener("click", function () { unzoom(); });
    if (searchBtn) searchBtn.addEventListener("click", function () {
      if (term !== null) resetSearch(); else promptSearch();
    });
    if (icBtn) icBtn.addEventListener("click", toggleIgnorecase);
    window.addEventListener("keydown", function (ev) {
      var mod = ev.ctrlKey || ev.metaKey, k = ev.key;
      if ((mod && (k === "f" || k === "F")) || k === "F3") { ev.preventDefault(); promptSearch(); }
      else if (mod && (k === "i" || k === "I")) { ev.preventDefault(); toggleIgnorecase(); }
      else if (k === "Escape") { if (term !== null) resetSearch(); else if (zoomed) unzoom(); }
    });
    restore();
  }

  function frameOf(node) {
    while (node && node.parentNode !== framesG) node = node.parentNode;
    return node ? byG.get(node) : undefined;
  }

  function label(f) {
    if (!f.text) return;
    var fit = Math.floor((f.cw - 3) / (FS * FW));
    var s = fit < 3 ? "" : f.name.length <= fit ? f.name : f.name.slice(0, fit - 2) + "..";
    f.text.setAttribute("x", (f.cx + 3).toFixed(2));
    if (f.text.textContent !== s) f.text.textContent = s;
  }

  function place(f, x, w) {
    f.cx = x; f.cw = w;
    f.rect.setAttribute("x", x.toFixed(2));
    f.rect.setAttribute("width", w.toFixed(2));
    label(f);
  }

  function show(f, cls) {
    f.hidden = false;
    f.g.classList.remove("hide");
    if (cls) f.g.classList.add("parent"); else f.g.classList.remove("parent");
  }

  function zoom(f) {
    if (f.w >= FULL - EPS) { unzoom(); return; }
    zoomed = f;
    var ratio = FULL / f.w;
    if (unzoomBtn) unzoomBtn.classList.remove("hide");
    for (var i = 0; i < frames.length; i++) {
      var e = frames[i];
      var ancestorSide = INV ? e.y < f.y - EPS : e.y > f.y + EPS;
      if (ancestorSide && e.x <= f.x + EPS && e.x + e.w >= f.x + f.w - EPS) {
        show(e, true);
        place(e, XPAD, FULL);
      } else if (!ancestorSide && e.x >= f.x - EPS && e.x + e.w <= f.x + f.w + EPS) {
        show(e, false);
        place(e, XPAD + (e.x - f.x) * ratio, e.w * ratio);
      } else {
        e.hidden = true;
        e.g.classList.add("hide");
        e.g.classList.remove("parent");
      }
    }
    refresh();
  }

  function unzoom() {
    zoomed = null;
    if (unzoomBtn) unzoomBtn.classList.add("hide");
    for (var i = 0; i < frames.length; i++) {
      var e = frames[i];
      show(e, false);
      if (e.cx !== e.x || e.cw !== e.w) place(e, e.x, e.w);
    }
    refresh();
  }

  function refresh() {
    if (term !== null) search(term); else saveState();
  }

  function promptSearch() {
    var t = window.prompt("Enter a search term (regexp allowed, eg: ^ext4_)" +
      (ignorecase ? ", ignoring case" : "") + "\nPress Ctrl-i to toggle case sensitivity", term === null ? "" : term);
    if (t !== null && t !== "") search(t);
  }

  function search(t) {
    var re;
    try { re = new RegExp(t, ignorecase ? "i" : ""); }
    catch (err) { if (matchedEl) matchedEl.textContent = "Invalid regexp: " + t; return; }
    term = t;
    var spans = [];
    for (var i = 0; i < frames.length; i++) {
      var e = frames[i];
      if (re.test(e.name)) {
        if (!e.hit) { e.hit = true; e.rect.setAttribute("fill", HIGHLIGHT); }
        if (!e.hidden) spans.push([Math.max(e.cx, XPAD), Math.min(e.cx + e.cw, XPAD + FULL)]);
      } else if (e.hit) {
        e.hit = false;
        e.rect.setAttribute("fill", e.fill);
      }
    }
    // A match inside another match (recursion, or a parent and its child) covers no new samples: merge the spans.
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var covered = 0, from = 0, to = -1;
    for (var j = 0; j < spans.length; j++) {
      var s = spans[j];
      if (s[0] > to) { if (to > from) covered += to - from; from = s[0]; to = s[1]; }
      else if (s[1] > to) to = s[1];
    }
    if (to > from) covered += to - from;
    var pct = Math.min(100, (100 * covered) / FULL);
    if (searchBtn) { searchBtn.classList.add("show"); searchBtn.textContent = "Reset Search"; }
    if (matchedEl) matchedEl.textContent = "Matched: " + (pct === 100 ? "100" : pct.toFixed(1)) + "%";
    saveState();
  }

  function resetSearch() {
    term = null;
    for (var i = 0; i < frames.length; i++) {
      var e = frames[i];
      if (e.hit) { e.hit = false; e.rect.setAttribute("fill", e.fill); }
    }
    if (searchBtn) { searchBtn.classList.remove("show"); searchBtn.textContent = "Search"; }
    if (matchedEl) matchedEl.textContent = " ";
    saveState();
  }

  function toggleIgnorecase() {
    ignorecase = !ignorecase;
    if (icBtn) { if (ignorecase) icBtn.classList.add("show"); else icBtn.classList.remove("show"); }
    if (term !== null) search(term); else saveState();
  }

  function stateParams() {
    var p = new URLSearchParams();
    if (zoomed) { p.set("x", String(zoomed.x)); p.set("y", String(zoomed.y)); }
    if (term !== null) p.set("s", term);
    if (ignorecase) p.set("ic", "1");
    return p.toString();
  }

  function saveState() {
    var q = stateParams();
    try {
      var url = new URL(window.location.href);
      url.search = q;
      window.history.replaceState(window.history.state, "", url.href);
    } catch (err) {
      try { window.location.replace("#" + q); } catch (err2) { /* no URL to keep state in */ }
    }
  }

  function restore() {
    var p;
    try {
      p = new URLSearchParams(window.location.search);
      if (!p.has("x") && !p.has("s") && !p.has("ic")) p = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    } catch (err) { return; }
    if (p.get("ic") === "1") { ignorecase = true; if (icBtn) icBtn.classList.add("show"); }
    var x = p.get("x"), y = p.get("y");
    if (x !== null && y !== null) {
      var fx = parseFloat(x), fy = parseFloat(y);
      for (var i = 0; i < frames.length; i++) {
        var f = frames[i];
        if (Math.abs(f.x - fx) < 1e-3 && Math.abs(f.y - fy) < 1e-3) { zoom(f); break; }
      }
    }
    var s = p.get("s");
    if (s !== null && s !== "") search(s);
  }

  init();
})();
`;
