// hvaudit report behaviour. Rules of this file: directory values reach the page only through
// textContent / value / title (never innerHTML); filtering touches each row once and only
// when its visibility changes, so 10,000 findings stay responsive.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('hv-data').textContent);
  var F = data.f;
  var RULES = data.rules;
  var SEV = ['info', 'low', 'medium', 'high', 'critical'];
  // Findings of one cause (data.causes[c], indices into F) are one row (tr.gr[data-c]); their
  // own rows are built when that row is expanded.
  var CAUSES = data.causes || [];
  var tbody = document.querySelector('#ft tbody');
  var byIndex = new Array(F.length); // finding index -> its row, once it exists
  Array.prototype.forEach.call(tbody.querySelectorAll('tr.fr'), function (tr) {
    byIndex[+tr.getAttribute('data-i')] = tr;
  });
  var groupRow = new Array(CAUSES.length);
  Array.prototype.forEach.call(tbody.querySelectorAll('tr.gr'), function (tr) {
    groupRow[+tr.getAttribute('data-c')] = tr;
  });
  var expanded = CAUSES.map(function () { return false; });
  var built = CAUSES.map(function () { return false; });
  var details = {}; // finding index -> its detail row, built on first open
  var selSev = document.getElementById('f-sev');
  var selRule = document.getElementById('f-rule');
  var selHost = document.getElementById('f-host');
  var selSt = document.getElementById('f-st');
  var search = document.getElementById('f-q');
  var count = document.getElementById('f-count');
  var hay = null;
  var hostLc = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  // Search text, built once on first search rather than at load.
  function haystack() {
    if (!hay) {
      hay = F.map(function (f) {
        var ev = f.ev.map(function (kv) { return kv[0] + '=' + kv[1]; }).join('\n');
        return [f.r, f.ti, f.o, f.dn, f.t, f.g, f.m, ev].join('\n').toLowerCase();
      });
    }
    return hay;
  }

  // Only the first `limit` matching rows are shown: Chromium's table layout costs seconds for
  // 10,000 visible rows, so the page grows by PAGE rows on request (printing shows all).
  var PAGE = +document.getElementById('ft').getAttribute('data-page') || 500;
  var limit = PAGE;
  var order = F.map(function (_, i) { return i; }); // current sort order
  var more = document.getElementById('f-more');
  var moreText = document.getElementById('f-more-text');

  function matcher() {
    var sevRank = selSev.value ? SEV.indexOf(selSev.value) : -1;
    var rule = selRule.value;
    var st = selSt.value;
    var host = selHost.value.toLowerCase();
    var q = search.value.trim().toLowerCase();
    var h = q ? haystack() : null;
    if (host && !hostLc) {
      hostLc = F.map(function (f) { return [f.o.toLowerCase(), f.t.toLowerCase()]; });
    }
    return function (i) {
      var f = F[i];
      return (sevRank < 0 || f.s === sevRank) &&
        (!rule || f.r === rule) &&
        (!st || f.st === st) &&
        (!host || hostLc[i][0] === host || hostLc[i][1] === host) &&
        (!h || h[i].indexOf(q) !== -1);
    };
  }

  // The page limit counts table rows: a cause row is one, however many findings it holds.
  function render() {
    var t0 = performance.now();
    var match = matcher();
    var matched = 0;
    var units = 0;
    var show = new Uint8Array(F.length);
    var cMatched = CAUSES.map(function () { return 0; });
    var cShow = CAUSES.map(function () { return false; });
    for (var k = 0; k < order.length; k++) {
      var i = order[k];
      if (!match(i)) continue;
      matched++;
      var c = F[i].c;
      if (c === undefined) {
        show[i] = units++ < limit ? 1 : 0;
      } else {
        if (cMatched[c]++ === 0) cShow[c] = units++ < limit;
        show[i] = cShow[c] && expanded[c] ? 1 : 0;
      }
    }
    for (i = 0; i < F.length; i++) {
      var row = byIndex[i];
      if (!row) continue;
      var v = show[i] === 1;
      // Touch the DOM only when visibility changes: no layout work for unchanged rows.
      if (row.hidden === v) row.hidden = !v;
      var d = details[i];
      if (d && d.open && d.hidden === v) d.hidden = !v;
    }
    for (c = 0; c < CAUSES.length; c++) {
      var g = groupRow[c];
      if (!g) continue;
      var gv = cMatched[c] > 0 && cShow[c];
      if (g.hidden === gv) g.hidden = !gv;
      var n = CAUSES[c].length;
      var label = (cMatched[c] === n ? n : cMatched[c] + ' of ' + n) + ' findings';
      var nEl = g.querySelector('.gr-n');
      if (nEl.textContent !== label) nEl.textContent = label;
    }
    count.textContent = matched + ' of ' + F.length + ' findings';
    var shown = Math.min(units, limit);
    more.hidden = shown >= units;
    moreText.textContent = 'Showing the first ' + shown + ' of ' + units + ' matching ' +
      (CAUSES.length ? 'rows' : 'findings') + '.';
    Array.prototype.forEach.call(document.querySelectorAll('.card'), function (c) {
      var on = c.hasAttribute('data-sev') ? selSev.value && c.getAttribute('data-sev') === selSev.value
        : selSt.value && c.getAttribute('data-status') === selSt.value;
      c.classList.toggle('active', !!on);
    });
    document.body.setAttribute('data-filter-ms', String(Math.round(performance.now() - t0)));
  }

  // A new filter starts again from the first page.
  function applyFilter() {
    limit = PAGE;
    render();
  }
  document.getElementById('f-more-page').addEventListener('click', function () {
    limit += PAGE;
    render();
  });
  document.getElementById('f-more-all').addEventListener('click', function () {
    limit = Infinity;
    render();
  });

  var timer = null;
  function debounced() {
    clearTimeout(timer);
    timer = setTimeout(applyFilter, 150);
  }
  search.addEventListener('input', debounced);
  [selSev, selRule, selHost, selSt].forEach(function (s) { s.addEventListener('change', applyFilter); });
  document.getElementById('f-reset').addEventListener('click', function () {
    selSev.value = ''; selRule.value = ''; selHost.value = ''; selSt.value = ''; search.value = '';
    applyFilter();
  });
  Array.prototype.forEach.call(document.querySelectorAll('.card[data-sev]'), function (c) {
    c.addEventListener('click', function () {
      var v = c.getAttribute('data-sev');
      selSev.value = selSev.value === v ? '' : v;
      applyFilter();
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('.card[data-status]'), function (c) {
    c.addEventListener('click', function () {
      var v = c.getAttribute('data-status');
      selSt.value = selSt.value === v ? '' : v;
      applyFilter();
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('#checks button[data-rule]'), function (b) {
    b.addEventListener('click', function () {
      selRule.value = b.getAttribute('data-rule');
      applyFilter();
      document.getElementById('findings').scrollIntoView();
    });
  });

  // ---- sorting ---------------------------------------------------------------------------
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  var sortKey = null;
  var sortDir = 1;
  function sortBy(th) {
    var key = th.getAttribute('data-key');
    if (sortKey === key) {
      sortDir = -sortDir;
    } else {
      sortKey = key;
      sortDir = key === 's' ? -1 : 1; // most severe first on the first click
    }
    order.sort(function (a, b) {
      var x = F[a][key], y = F[b][key];
      var c = typeof x === 'number' ? x - y : collator.compare(x, y);
      return c * sortDir || a - b;
    });
    placeRows();
    render(); // the first page follows the new order
    Array.prototype.forEach.call(document.querySelectorAll('#ft th[data-key]'), function (h) {
      h.setAttribute('aria-sort', h === th ? (sortDir > 0 ? 'ascending' : 'descending') : 'none');
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll('#ft th[data-key]'), function (th) {
    th.addEventListener('click', function () { sortBy(th); });
  });

  // Puts the rows in `order`: a cause row where its first finding sorts, its findings (when
  // built) right under it, each detail under its row.
  function placeRows() {
    var lists = CAUSES.map(function () { return []; });
    order.forEach(function (i) { if (F[i].c !== undefined) lists[F[i].c].push(i); });
    var placed = CAUSES.map(function () { return false; });
    var frag = document.createDocumentFragment();
    function put(i) {
      frag.appendChild(byIndex[i]);
      if (details[i]) frag.appendChild(details[i]);
    }
    order.forEach(function (i) {
      var c = F[i].c;
      if (c === undefined) {
        put(i);
      } else if (!placed[c]) {
        placed[c] = true;
        frag.appendChild(groupRow[c]);
        if (built[c]) lists[c].forEach(put);
      }
    });
    tbody.appendChild(frag);
  }

  // A finding's row inside a cause, built like the server-rendered ones (text only).
  function memberRow(i) {
    var f = F[i];
    var tr = el('tr', 'fr member' + (f.st === 'suppressed' ? ' suppressed' : ''));
    tr.setAttribute('data-i', String(i));
    tr.hidden = true;
    var x = el('td', 'xcol');
    var b = el('button', 'exp', '+');
    b.type = 'button';
    b.title = 'Show details';
    b.setAttribute('aria-expanded', 'false');
    x.appendChild(b);
    tr.appendChild(x);
    var sv = el('td');
    sv.appendChild(el('span', 'sev sev-' + SEV[f.s], SEV[f.s]));
    tr.appendChild(sv);
    var r = el('td', null, f.r);
    r.title = f.ti;
    tr.appendChild(r);
    tr.appendChild(el('td', 'clip val', f.o));
    tr.appendChild(el('td', 'clip val', f.t));
    tr.appendChild(el('td', 'clip val', f.g));
    tr.appendChild(el('td', 'msg val', f.m));
    var st = el('td');
    st.appendChild(el('span', 'badge st-' + f.st, f.st));
    tr.appendChild(st);
    return tr;
  }

  function setGroupOpen(c, open) {
    expanded[c] = open;
    var g = groupRow[c];
    if (open && !built[c]) {
      built[c] = true;
      var frag = document.createDocumentFragment();
      order.forEach(function (i) {
        if (F[i].c === c) frag.appendChild(byIndex[i] = memberRow(i));
      });
      g.parentNode.insertBefore(frag, g.nextSibling);
    }
    var b = g.querySelector('button.exp');
    b.setAttribute('aria-expanded', open ? 'true' : 'false');
    b.textContent = open ? '\u2212' : '+';
    render();
  }

  // ---- finding details -------------------------------------------------------------------
  function copyText(text, btn) {
    function done(ok) {
      btn.textContent = ok ? 'Copied' : 'Copy failed: select the text';
      setTimeout(function () { btn.textContent = 'Copy'; }, 1500);
    }
    // file:// pages may lack the async clipboard; a selected textarea works everywhere.
    function fallback() {
      var ta = el('textarea');
      ta.value = text;
      ta.setAttribute('readonly', '');
      ta.style.position = 'fixed';
      ta.style.opacity = '0';
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      document.body.removeChild(ta);
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  }

  function labelled(label, value) {
    var p = el('p', 'val');
    p.appendChild(el('strong', null, label + ': '));
    p.appendChild(document.createTextNode(value));
    return p;
  }

  function buildDetail(i) {
    var f = F[i];
    var rule = RULES[f.r];
    var tr = el('tr', 'detail');
    var td = el('td');
    td.colSpan = 8;
    tr.appendChild(td);
    td.appendChild(el('h4', 'val', f.r + ': ' + f.ti));
    if (f.sup) td.appendChild(labelled('Suppressed', f.sup)).className = 'sup val';
    td.appendChild(el('p', 'val', f.m));
    if (f.dn) td.appendChild(labelled('Object DN', f.dn));
    if (f.t) td.appendChild(labelled('Target', f.t));
    if (rule && rule[1]) {
      td.appendChild(el('h4', null, 'Why it matters'));
      td.appendChild(el('p', 'rationale', rule[1]));
      if (rule[2] && rule[2].length) {
        var ul = el('ul', 'refs');
        rule[2].forEach(function (r) { ul.appendChild(el('li', 'val', r)); });
        td.appendChild(ul);
      }
    }
    if (f.ev.length) {
      td.appendChild(el('h4', null, 'Evidence'));
      var t = el('table', 'evidence');
      f.ev.forEach(function (kv) {
        var row = el('tr');
        row.appendChild(el('td', null, kv[0]));
        row.appendChild(el('td', 'val', kv[1]));
        t.appendChild(row);
      });
      td.appendChild(t);
    }
    td.appendChild(el('h4', null, 'Remediation'));
    if (f.fix) {
      var pre = el('pre', 'fix', f.fix);
      var btn = el('button', 'copy', 'Copy');
      btn.type = 'button';
      btn.addEventListener('click', function (e) { e.stopPropagation(); copyText(f.fix, btn); });
      td.appendChild(btn);
      td.appendChild(pre);
    } else {
      td.appendChild(el('p', 'dim', 'No scripted remediation for this finding; see the rationale.'));
    }
    return tr;
  }

  function setOpen(i, open) {
    var row = byIndex[i];
    var d = details[i];
    if (open && !d) {
      d = details[i] = buildDetail(i);
      row.parentNode.insertBefore(d, row.nextSibling);
    }
    if (d) {
      d.open = open;
      d.hidden = !open || row.hidden;
    }
    var b = row.querySelector('button.exp');
    b.setAttribute('aria-expanded', open ? 'true' : 'false');
    b.textContent = open ? '\u2212' : '+';
  }

  tbody.addEventListener('click', function (e) {
    if (window.getSelection && String(window.getSelection()) !== '') return;
    var gr = e.target.closest('tr.gr');
    if (gr) {
      var c = +gr.getAttribute('data-c');
      setGroupOpen(c, !expanded[c]);
      return;
    }
    var row = e.target.closest('tr.fr');
    if (!row) return;
    var i = +row.getAttribute('data-i');
    setOpen(i, !(details[i] && details[i].open));
  });

  // A host's finding count shows its findings (the host filter covers object and target).
  Array.prototype.forEach.call(document.querySelectorAll('#hosts-table button.host-findings'), function (b) {
    b.addEventListener('click', function () {
      var h = b.getAttribute('data-host');
      selSev.value = ''; selRule.value = ''; selSt.value = ''; search.value = '';
      selHost.value = h;
      if (selHost.value !== h) { selHost.value = ''; search.value = h; }
      applyFilter();
      document.getElementById('findings').scrollIntoView();
    });
  });

  // A fix-first entry opens its finding: filters are cleared so the row can be shown, a row
  // beyond the current page is shown on its own, and the page scrolls to it.
  Array.prototype.forEach.call(document.querySelectorAll('#fix-first a.open-detail'), function (a) {
    a.addEventListener('click', function (e) {
      e.preventDefault();
      var i = +a.getAttribute('data-i');
      if (!F[i]) return;
      selSev.value = ''; selRule.value = ''; selHost.value = ''; selSt.value = ''; search.value = '';
      applyFilter();
      var c = F[i].c;
      if (c !== undefined) {
        // An entry for a cause opens its row with the findings under it (past the first page
        // too: then every row is shown).
        if (groupRow[c].hidden) limit = Infinity;
        setGroupOpen(c, true);
        groupRow[c].hidden = false;
        groupRow[c].scrollIntoView({ block: 'start' });
        return;
      }
      byIndex[i].hidden = false;
      setOpen(i, true);
      byIndex[i].scrollIntoView({ block: 'start' });
    });
  });

  // Printing leaves the findings out (the print note says so; report.css): nothing is built
  // for it, so printing a 20,000-computer report does not first lay out every finding.

  // ---- readiness matrix ------------------------------------------------------------------
  function wireMatrix(t) {
    var panel = t.closest('.group').querySelector('.mx-panel');
    var selected = null;
    function show(e) {
      var c = e.target.closest('td.c');
      if (!c || c.classList.contains('self')) return;
      if (selected) selected.classList.remove('sel');
      selected = c;
      c.classList.add('sel');
      panel.textContent = c.title;
      panel.hidden = false;
    }
    t.addEventListener('click', show);
    t.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') show(e); });
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.mx'), wireMatrix);

  // Markup shown on demand sits in an inert <template class="lazy">; a large one arrives
  // deflated (data-z: base64 of a zlib stream, see src/report/html/mod.rs) and is inflated with
  // the browser's DecompressionStream. Either way it is this page's own markup, escaped when
  // the report was written: parsing it is what the browser did for the rest of the page.
  function lazyContent(t) {
    var z = t.getAttribute('data-z');
    if (!z) return Promise.resolve(t.content.cloneNode(true));
    var bin = atob(z);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
    return new Response(stream).text().then(function (markup) {
      var tpl = document.createElement('template');
      tpl.innerHTML = markup;
      return tpl.content;
    });
  }
  function onFirstOpen(d, then) {
    d.addEventListener('toggle', function () {
      if (!d.open || d.getAttribute('data-rendered')) return;
      d.setAttribute('data-rendered', '1');
      lazyContent(d.querySelector('template.lazy')).then(function (frag) {
        d.appendChild(frag);
        if (then) then(d);
      }, function (e) {
        d.appendChild(el('p', 'bad', 'This part of the report could not be shown (' + e + '): it is also in findings.xlsx and findings.json.'));
      });
    });
  }
  // A large group's matrix is rendered when its <details> is opened.
  Array.prototype.forEach.call(document.querySelectorAll('details.mx-lazy'), function (d) {
    onFirstOpen(d, function () { wireMatrix(d.querySelector('table.mx')); });
  });
  // So are the delegation inventory and the privileged accounts of a large domain.
  Array.prototype.forEach.call(document.querySelectorAll('details.lazy-section'), function (d) {
    onFirstOpen(d, null);
  });

  // Group index: "blocked or unknown only" hides the groups whose every pair is ready.
  var only = document.getElementById('only-problems');
  if (only) {
    var groupCount = document.getElementById('gi-count');
    only.addEventListener('change', function () {
      var shown = 0;
      var rows = document.querySelectorAll('#group-index tbody tr');
      var groups = document.querySelectorAll('#readiness .group');
      for (var i = 0; i < rows.length; i++) {
        var hide = only.checked && rows[i].getAttribute('data-problem') === '0';
        rows[i].hidden = hide;
        if (groups[i]) groups[i].hidden = hide;
        if (!hide) shown++;
      }
      groupCount.textContent = shown === rows.length ? rows.length + ' groups' : shown + ' of ' + rows.length + ' groups';
    });
  }

  // Every control is wired: the browser test measures "interactive" up to here.
  if (window.performance && performance.mark) performance.mark('hv-ready');
})();
