// The status page: the catalogue as one GraphQL query, refreshed whenever
// the change feed (GraphQL over SSE) says something changed.
(function () {
  'use strict';

  // The catalogue, with what each case that did not pass said. Messages
  // are cut (maxBytes), and when the details still make the answer too
  // large (server.max_answer_bytes) the page asks again without them, so
  // that one task's huge output never hides every task.
  function catalogue(cases) {
    return '{ registry { generation taskCount versionCount loadedAt }' +
      ' tasks { id version label description availableVersions source path stale error { path line column message }' +
      ' warnings { path line column message } versions { version verdict { status passed total } }' +
      ' verdict { status passed failed total durationMs cases { ' + cases + ' } } }' +
      ' loadErrors { source path line column kind message }' +
      ' conflicts { id version source path winner message }' +
      ' sources { name type location status error taskCount loadedAt } }';
  }
  var QUERY = catalogue('file status message(maxBytes: 2000) expected actual');
  var QUERY_WITHOUT_DETAILS = catalogue('file status');
  var FEED = 'subscription { registryEvents { generation kind } }';

  var state = null;
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }

  function where(e) {
    var s = e.path;
    if (e.line) { s += ':' + e.line; if (e.column) s += ':' + e.column; }
    return s;
  }

  function plural(n, noun) {
    return n + ' ' + noun + (n === 1 ? '' : 's');
  }

  // errorsOf lists every load error under a task's folder or zip, not only
  // the one the task carries, so that a stale row shows all that is wrong.
  function errorsOf(t) {
    return state.loadErrors.filter(function (e) {
      return e.source === t.source && (e.path === t.path || e.path.indexOf(t.path + '/') === 0 || e.path.indexOf(t.path + '!') === 0);
    });
  }

  // labelled gives each cell its column's name, which a narrow screen
  // shows beside the cell when the table becomes a list of cards.
  function labelled(names, cells) {
    cells.forEach(function (c, i) { c.setAttribute('data-label', names[i]); });
    return cells;
  }

  function matches(filter, parts) {
    if (!filter) return true;
    return parts.join(' ').toLowerCase().indexOf(filter) >= 0;
  }

  function pretty(v) {
    return v === null || v === undefined ? '—' : JSON.stringify(v, null, 2);
  }

  // verdictCell shows where a task's tests stand and, for each case that
  // did not pass, why: its message and the expected and actual outputs
  // side by side.
  function verdictCell(v, t) {
    var status = v.status.toLowerCase();
    var head = v.status === 'NONE' ? el('span', { 'class': 'muted', text: 'no tests' }) :
      el('span', { 'class': 'verdict ' + status, text: v.status === 'PENDING' ? 'running…' : passedText(v) });
    var failing = v.cases.filter(function (c) { return c.status !== 'PASSED'; });
    return el('td', { 'class': 'verdict-cell' }, [head].concat(failing.map(function (c) {
      var sides = (c.expected != null || c.actual != null) ? el('div', { 'class': 'sides' }, [
        el('div', {}, [el('div', { 'class': 'muted', text: 'expected' }), el('pre', { 'class': 'expected', text: pretty(c.expected) })]),
        el('div', {}, [el('div', { 'class': 'muted', text: 'actual' }), el('pre', { 'class': 'actual', text: pretty(c.actual) })]),
      ]) : null;
      return el('div', { 'class': 'case', 'data-file': c.file }, [
        el('div', { 'class': 'mono' }, [el('span', { 'class': 'case-status ' + c.status.toLowerCase(), text: c.status }), ' ' + caseWhere(t, c.file)]),
        el('div', { 'class': 'case-message', text: c.message || '' }),
        sides,
      ]);
    })));
  }

  // caseWhere names a case's test file, at the place of the first warning
  // about it (FILE:LINE:COL), since a case the file's problem stopped
  // says no place of its own.
  function caseWhere(t, file) {
    var w = (t.warnings || []).filter(function (w) { return w.line && (w.path === file || w.path.slice(-file.length - 1) === '/' + file); })[0];
    return w ? file + ':' + w.line + (w.column ? ':' + w.column : '') : file;
  }

  function passedText(v) {
    return v.passed + '/' + v.total + ' passed';
  }

  // byLabel orders the rows as a reader looks for them: by label, then
  // version, then id (the API's default order is by uuid).
  function byLabel(a, b) {
    return a.label.localeCompare(b.label, undefined, { sensitivity: 'base', numeric: true }) ||
      a.version.localeCompare(b.version, undefined, { numeric: true }) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }

  // versionCell lists every version, the latest in bold, and marks each
  // version whose tests fail: an older version that fails is not hidden
  // by a latest that passes.
  function versionCell(t) {
    var verdicts = {};
    (t.versions || []).forEach(function (v) { if (v.verdict) verdicts[v.version] = v.verdict; });
    return el('td', { 'class': 'versions' }, t.availableVersions.map(function (v) {
      var verdict = verdicts[v];
      var failed = verdict && verdict.status === 'FAILED';
      var title = (v === t.version ? 'latest' : '') + (failed ? (v === t.version ? '; ' : '') + 'tests fail: ' + passedText(verdict) : '');
      return el('span', { 'class': 'version' + (v === t.version ? ' latest' : '') + (failed ? ' failing' : ''), title: title,
        'data-version': v, text: failed ? v + ' ✗' : v });
    }));
  }

  // warningList shows the problems in a task's test files, each at its
  // place (FILE:LINE:COL).
  function warningList(t) {
    if (!t.warnings || !t.warnings.length) return null;
    return el('ul', { 'class': 'warnings mono' }, t.warnings.map(function (w) {
      return el('li', { 'class': 'warning', text: where(w) + ': ' + w.message });
    }));
  }

  // notice says what the page cannot show now, or nothing.
  function notice(text) {
    var n = $('notice');
    n.textContent = text || '';
    n.hidden = !text;
  }

  function render() {
    if (!state) return;
    var f = $('filter').value.trim().toLowerCase();
    var r = state.registry;
    $('summary').textContent = plural(r.taskCount, 'task') + ', ' + plural(r.versionCount, 'version') + ' · generation ' + r.generation;
    document.body.dataset.generation = r.generation;

    var tasks = $('tasks');
    tasks.textContent = '';
    var shown = 0;
    state.tasks.slice().sort(byLabel).forEach(function (t) {
      var errs = t.stale ? errorsOf(t) : [];
      if (t.stale && !errs.length && t.error) errs = [t.error];
      var errText = errs.map(function (e) { return where(e) + ': ' + e.message; }).join('\n');
      if (!matches(f, [t.label, t.id, t.description, t.source, t.path, t.availableVersions.join(' '), errText, t.verdict.status])) return;
      shown++;
      var versions = versionCell(t);
      var label = el('td', {}, [
        el('div', {}, [el('strong', { text: t.label }), t.stale ? ' ' : null, t.stale ? el('span', { 'class': 'badge stale', text: 'stale' }) : null]),
        el('div', { 'class': 'mono muted', text: t.id }),
        t.stale ? el('div', { 'class': 'stale-error mono', text: 'serving the last good version; now broken (' + plural(errs.length, 'error') + '):' }) : null,
        t.stale ? el('ul', { 'class': 'stale-errors mono' }, errs.map(function (e) {
          return el('li', { 'class': 'stale-error', text: where(e) + ': ' + e.message });
        })) : null,
        warningList(t),
      ]);
      tasks.appendChild(el('tr', { 'class': t.stale ? 'stale' : '', 'data-id': t.id }, labelled(['Label', 'Versions', 'Tests', 'Description', 'Source and path'], [
        label, versions, verdictCell(t.verdict, t), el('td', { text: t.description }),
        el('td', {}, [el('div', { text: t.source }), el('div', { 'class': 'mono muted', text: t.path })]),
      ])));
    });
    if (!shown) tasks.appendChild(el('tr', {}, [el('td', { colspan: '5', 'class': 'empty', text: state.tasks.length ? 'No task matches the filter.' : 'No tasks.' })]));
    $('task-count').textContent = shown === state.tasks.length ? '(' + shown + ')' : '(' + shown + ' of ' + state.tasks.length + ')';

    var errors = $('errors');
    errors.textContent = '';
    var errs = state.loadErrors.filter(function (e) { return matches(f, [e.path, e.message, e.kind, e.source]); });
    errs.forEach(function (e) {
      errors.appendChild(el('li', { 'data-kind': e.kind }, [el('span', { 'class': 'where mono', text: where(e) }), ' ', el('span', { text: e.message })]));
    });
    if (!errs.length) errors.appendChild(el('li', { 'class': 'empty', style: 'background:none;border:none', text: 'None.' }));
    $('error-count').textContent = '(' + state.loadErrors.length + ')';

    var conflicts = $('conflicts');
    conflicts.textContent = '';
    var cs = state.conflicts.filter(function (c) { return matches(f, [c.id, c.version, c.path, c.winner]); });
    cs.forEach(function (c) {
      conflicts.appendChild(el('li', {}, [el('span', { 'class': 'where mono', text: c.path }),
        ' duplicates ' + c.id + ' ' + c.version + '; served from ', el('span', { 'class': 'mono', text: c.winner }),
        el('div', { 'class': 'muted', text: 'Give one of them a new uuid; `ratchet-registry new --uuid` prints one.' })]));
    });
    $('conflicts-section').hidden = state.conflicts.length === 0;
    $('conflict-count').textContent = '(' + state.conflicts.length + ')';

    var sources = $('sources');
    sources.textContent = '';
    state.sources.forEach(function (s) {
      var status = s.status.toLowerCase();
      var nerr = state.loadErrors.filter(function (e) { return e.source === s.name; }).length;
      var nconf = state.conflicts.filter(function (c) { return c.source === s.name; }).length;
      if (!matches(f, [s.name, s.type, s.location, status, s.error || ''])) return;
      sources.appendChild(el('tr', {}, labelled(['Name', 'Type', 'Status', 'Tasks', 'Loaded'], [
        el('td', {}, [el('div', { text: s.name }), s.location !== s.name ? el('div', { 'class': 'mono muted', text: s.location }) : null]),
        el('td', { text: s.type }),
        el('td', {}, [el('span', { 'class': 'status-' + status, text: status }),
          nerr ? el('span', { 'class': 'status-errors', text: ' · ' + plural(nerr, 'load error') }) : null,
          nconf ? el('span', { 'class': 'status-errors status-conflicts', title: 'copies of a task version that another copy hides: give one of them a new uuid', text: ' · ' + plural(nconf, 'conflict') }) : null,
          s.error ? el('div', { 'class': 'mono status-' + status, text: s.error }) : null]),
        el('td', { text: String(s.taskCount) }),
        el('td', { 'class': 'muted', text: s.loadedAt ? new Date(s.loadedAt).toLocaleTimeString() : '—' }),
      ])));
    });
  }

  function ask(query) {
    return fetch('/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Accept': 'application/graphql-response+json' }, body: JSON.stringify({ query: query }) })
      .then(function (r) { return r.json(); });
  }

  function errorText(body) {
    return (body.errors || []).map(function (e) { return e.message; }).join('; ') || 'no answer';
  }

  var loading = false, again = false;
  function load() {
    if (loading) { again = true; return; }
    loading = true;
    ask(QUERY)
      .then(function (body) {
        if (body.data) { notice(''); return body; }
        var why = errorText(body);
        return ask(QUERY_WITHOUT_DETAILS).then(function (lite) {
          notice(lite.data ? 'Test messages and outputs are not shown: ' + why :
            'The catalogue cannot be shown: ' + errorText(lite));
          return lite;
        });
      })
      .then(function (body) { if (body.data) { state = body.data; render(); } })
      .catch(function (err) { notice('The catalogue cannot be read: ' + err); })
      .finally(function () { loading = false; if (again) { again = false; load(); } });
  }

  function setConn(cls, text) {
    var c = $('conn');
    c.className = 'conn ' + cls;
    c.textContent = text;
  }

  // The feed. EventSource reconnects by itself and resumes with
  // Last-Event-ID; a stream the server ends (it asked us to resync, or we
  // fell behind) is reopened fresh, and the catalogue re-read.
  var source = null, everConnected = false;
  function connect() {
    source = new EventSource('/graphql?query=' + encodeURIComponent(FEED));
    source.onopen = function () {
      setConn('live', everConnected ? 'live (reconnected)' : 'live');
      if (everConnected) load();
      everConnected = true;
    };
    source.addEventListener('next', function (ev) {
      var body = JSON.parse(ev.data);
      if (body.errors) { source.close(); load(); connect(); return; }
      load();
    });
    source.addEventListener('complete', function () { source.close(); load(); connect(); });
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) { setTimeout(connect, 1000); }
      setConn('down', 'disconnected: retrying…');
    };
  }

  $('filter').addEventListener('input', render);
  load();
  connect();
})();
