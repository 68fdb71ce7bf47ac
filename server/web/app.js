// teamflow preview page: edit definitions, see diagnostics as you type, draw a blueprint, publish.
// Plain modern JavaScript, no framework; every request goes to this server with the bearer token.
'use strict';

(() => {
  const TOKEN_KEY = 'teamflow.token';
  const DRAFT_KEY = 'teamflow.draft';
  const CHECK_DELAY_MS = 300;

  const SAMPLE = `# A small definition set to start from: edit it and watch the diagnostics and the diagram.
role Support

user ada { name "Ada Lovelace"  roles Support }

module Tickets {
  field title: text required
  field priority: picklist ["Low", "High"] default "Low"
  field status: picklist ["New", "In progress", "Resolved", "Closed"] default "New"
}

blueprint TicketFlow on Tickets.status {
  transition Start from "New" to "In progress" {
    by role Support
  }
  transition Resolve from "In progress" to "Resolved" {
    by role Support
    note required
  }
  transition Close from "Resolved" to "Closed" after 7d {
  }
  transition Reopen from "Resolved", "Closed" to "In progress" {
    by owner, role Support
  }
}
`;

  const $ = (id) => document.getElementById(id);
  const el = {
    signin: $('signin'), token: $('token'), signinError: $('signin-error'),
    session: $('session'), sessionText: $('session-text'), signout: $('signout'),
    notice: $('notice'), tabs: $('tabs'), addFile: $('add-file'), removeFile: $('remove-file'),
    loadPublished: $('load-published'), gutter: $('gutter'), gutterLines: $('gutter-lines'),
    marks: $('marks'), source: $('source'), checkStatus: $('check-status'),
    diagSummary: $('diag-summary'), diagnostics: $('diagnostics'), blueprint: $('blueprint'),
    fit: $('fit'), download: $('download'), diagram: $('diagram'),
    diagramStatus: $('diagram-status'), publishForm: $('publish-form'), scope: $('scope'),
    team: $('team'), teamLabel: $('team-label'), publish: $('publish'),
    publishResult: $('publish-result'),
  };

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    files: [],            // [{name, source}]
    current: 0,
    diagnostics: [],      // of the last check
    blueprints: [],
    // Blueprints of the published set that the server does not list for this caller (another
    // team's): left out of the picker. Learnt from the first check after loading the set.
    hiddenBlueprints: new Set(),
    visibleBlueprints: null,
    ok: false,            // the last check compiled
    checkedText: null,    // the files the last check saw (JSON)
    publishedVersion: null,
    checkTimer: 0,
    checkSeq: 0,
    checkAbort: null,
    diagramSeq: 0,
    diagramAbort: null,
    diagramUrl: null,
    selected: null,       // {file, line} of the diagnostic jumped to
  };

  // ---------------------------------------------------------------------------------------------
  // HTTP
  // ---------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem, message) {
      super(message);
      this.status = status;
      this.problem = problem;
    }
  }

  /** Calls the API; resolves to the Response when 2xx, else rejects with an ApiError. */
  async function api(method, path, { body, signal, headers = {}, accept } = {}) {
    const h = { Accept: accept || 'application/json', ...headers };
    if (state.token) h.Authorization = `Bearer ${state.token}`;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method, headers: h, signal, cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, null, 'Cannot reach the teamflow server: check that it is running ' +
                                  'and that your network is up.');
    }
    if (response.ok) return response;
    let problem = null;
    try {
      problem = await response.json();
    } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, problem, describe(response.status, problem));
  }

  /** A sentence for a failed call, from its status and problem details. */
  function describe(status, problem) {
    const detail = problem && (problem.detail || problem.title);
    switch (status) {
      case 401: return 'Your token was not accepted (401). Sign in again with a valid token.';
      case 403: return `You are not allowed to do this (403)${detail ? `: ${detail}` : '.'}`;
      case 404: return `Not found (404)${detail ? `: ${detail}` : '.'}`;
      case 409: return `Conflict (409)${detail ? `: ${detail}` : '.'}`;
      case 413: return 'The definitions are larger than the server accepts (413).';
      case 422: return `Refused (422)${detail ? `: ${detail}` : '.'}`;
      case 429: return 'The server is busy (429); try again in a moment.';
      case 503: return `The server cannot do this right now (503)${detail ? `: ${detail}` : '.'}`;
      default: return `The server answered ${status}${detail ? `: ${detail}` : '.'}`;
    }
  }

  /** A 401 anywhere ends the session. */
  function handleAuthFailure(e) {
    if (e instanceof ApiError && e.status === 401) {
      signOut('Your token was not accepted. Sign in again.');
      return true;
    }
    return false;
  }

  function filesBody() {
    const files = {};
    for (const f of state.files) files[f.name] = f.source;
    return { files };
  }

  // ---------------------------------------------------------------------------------------------
  // Notices
  // ---------------------------------------------------------------------------------------------

  function notice(text, kind = 'info') {
    el.notice.textContent = text;
    el.notice.className = `notice ${kind}`;
    el.notice.hidden = !text;
  }

  // ---------------------------------------------------------------------------------------------
  // Sign in
  // ---------------------------------------------------------------------------------------------

  function renderSession() {
    const signedIn = Boolean(state.token);
    el.signin.hidden = signedIn;
    el.session.hidden = !signedIn;
    updatePublishButton();
  }

  async function signIn(token) {
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    el.signinError.textContent = '';
    renderSession();
    notice('');
    const untouched = state.files.length === 1 && state.files[0].source === SAMPLE;
    if (untouched) {
      await loadPublished({ quiet: true });
    }
    checkNow();
  }

  function signOut(message) {
    state.token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    renderSession();
    el.signinError.textContent = message || '';
    if (message) el.token.focus();
    setCheckStatus('Sign in to check the definitions', '');
  }

  el.signin.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = el.token.value.trim();
    if (!token) {
      el.signinError.textContent = 'Enter your access token.';
      return;
    }
    el.token.value = '';
    signIn(token);
  });
  el.signout.addEventListener('click', () => signOut(''));

  // ---------------------------------------------------------------------------------------------
  // Files and tabs
  // ---------------------------------------------------------------------------------------------

  function setFiles(files, current = 0) {
    state.files = files.length ? files : [{ name: 'definitions.flow', source: '' }];
    state.current = Math.min(current, state.files.length - 1);
    renderTabs();
    showCurrentFile();
    saveDraft();
  }

  function saveDraft() {
    try {
      sessionStorage.setItem(DRAFT_KEY, JSON.stringify({
        files: state.files, current: state.current, version: state.publishedVersion,
      }));
    } catch (_) { /* storage full: keep going */ }
  }

  function fileSeverity(name) {
    let worst = '';
    for (const d of state.diagnostics) {
      if (d.file !== name) continue;
      if (d.severity === 'error') return 'error';
      worst = 'warning';
    }
    return worst;
  }

  function renderTabs() {
    el.tabs.replaceChildren();
    state.files.forEach((f, i) => {
      const tab = document.createElement('button');
      tab.type = 'button';
      tab.setAttribute('role', 'tab');
      tab.id = `tab-${i}`;
      tab.textContent = f.name;
      tab.setAttribute('aria-selected', String(i === state.current));
      tab.setAttribute('aria-controls', 'source');
      tab.tabIndex = i === state.current ? 0 : -1;
      const severity = fileSeverity(f.name);
      if (severity) {
        tab.classList.add(`has-${severity}`);
        tab.title = `${f.name} has ${severity === 'error' ? 'errors' : 'warnings'}`;
      }
      tab.addEventListener('click', () => selectFile(i));
      el.tabs.append(tab);
    });
    el.removeFile.disabled = state.files.length < 2;
  }

  el.tabs.addEventListener('keydown', (event) => {
    const delta = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!delta) return;
    event.preventDefault();
    const next = (state.current + delta + state.files.length) % state.files.length;
    selectFile(next);
    $(`tab-${next}`).focus();
  });

  function selectFile(i) {
    if (i === state.current) return;
    state.current = i;
    renderTabs();
    showCurrentFile();
    saveDraft();
  }

  function showCurrentFile() {
    const f = state.files[state.current];
    el.source.value = f.source;
    el.source.setAttribute('aria-label', `Source of ${f.name}`);
    el.source.scrollTop = 0;
    el.source.scrollLeft = 0;
    renderEditorMarks();
  }

  el.addFile.addEventListener('click', () => {
    const taken = new Set(state.files.map((f) => f.name));
    let n = 1;
    while (taken.has(`new-${n}.flow`)) n += 1;
    state.files.push({ name: `new-${n}.flow`, source: '' });
    setFiles(state.files, state.files.length - 1);
    el.source.focus();
    scheduleCheck();
  });

  el.removeFile.addEventListener('click', () => {
    if (state.files.length < 2) return;
    const name = state.files[state.current].name;
    if (state.files[state.current].source.trim() &&
        !window.confirm(`Remove ${name} from the set? Its text is discarded.`)) {
      return;
    }
    state.files.splice(state.current, 1);
    setFiles(state.files, Math.max(0, state.current - 1));
    scheduleCheck();
  });

  // ---------------------------------------------------------------------------------------------
  // Editor: line numbers and marks
  // ---------------------------------------------------------------------------------------------

  function lineHeight() {
    return parseFloat(getComputedStyle(el.source).lineHeight) || 20;
  }

  function paddingTop() {
    return parseFloat(getComputedStyle(el.source).paddingTop) || 0;
  }

  function currentDiagnosticsByLine() {
    const name = state.files[state.current].name;
    const byLine = new Map();
    for (const d of state.diagnostics) {
      if (d.file !== name || !d.line) continue;
      const entry = byLine.get(d.line) || { severity: 'warning', messages: [], column: d.column };
      if (d.severity === 'error') entry.severity = 'error';
      entry.messages.push(`${d.severity}: ${d.message}`);
      byLine.set(d.line, entry);
    }
    return byLine;
  }

  function renderEditorMarks() {
    const text = el.source.value;
    let lines = 1;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines += 1;
    const byLine = currentDiagnosticsByLine();

    const gutter = document.createDocumentFragment();
    for (let n = 1; n <= lines; n += 1) {
      const ln = document.createElement('div');
      ln.className = 'ln';
      ln.textContent = String(n);
      const d = byLine.get(n);
      if (d) {
        ln.classList.add(d.severity);
        ln.title = d.messages.join('\n');
      }
      gutter.append(ln);
    }
    el.gutterLines.replaceChildren(gutter);

    const lh = lineHeight();
    const top = paddingTop();
    const marks = document.createDocumentFragment();
    for (const [line, d] of byLine) {
      if (line > lines) continue;
      const mark = document.createElement('div');
      mark.className = `mark ${d.severity}`;
      mark.style.top = `${top + (line - 1) * lh}px`;
      if (state.selected && state.selected.line === line &&
          state.selected.file === state.files[state.current].name) {
        mark.classList.add('selected');
      }
      marks.append(mark);
    }
    const layer = document.createElement('div');
    layer.className = 'marks-inner';
    layer.append(marks);
    el.marks.replaceChildren(layer);
    syncScroll();
  }

  function syncScroll() {
    el.gutter.scrollTop = el.source.scrollTop;
    const layer = el.marks.firstElementChild;
    if (layer) layer.style.transform = `translateY(${-el.source.scrollTop}px)`;
  }

  el.source.addEventListener('scroll', syncScroll);
  el.source.addEventListener('input', () => {
    state.files[state.current].source = el.source.value;
    state.selected = null;
    renderEditorMarks();
    saveDraft();
    scheduleCheck();
  });

  /** Selects a diagnostic's line (switching files if needed) and scrolls it into view. */
  function jumpTo(d) {
    const index = state.files.findIndex((f) => f.name === d.file);
    if (index >= 0 && index !== state.current) {
      state.current = index;
      renderTabs();
      showCurrentFile();
    }
    const text = el.source.value;
    let start = 0;
    for (let n = 1; n < d.line; n += 1) {
      const next = text.indexOf('\n', start);
      if (next === -1) break;
      start = next + 1;
    }
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    state.selected = { file: d.file, line: d.line };
    el.source.focus();
    el.source.setSelectionRange(start, end);
    const lh = lineHeight();
    const y = (d.line - 1) * lh;
    if (y < el.source.scrollTop || y > el.source.scrollTop + el.source.clientHeight - 2 * lh) {
      el.source.scrollTop = Math.max(0, y - el.source.clientHeight / 3);
    }
    renderEditorMarks();
  }

  // ---------------------------------------------------------------------------------------------
  // Checking
  // ---------------------------------------------------------------------------------------------

  function setCheckStatus(text, kind) {
    el.checkStatus.textContent = text;
    el.checkStatus.className = `check-status ${kind || ''}`;
  }

  function scheduleCheck() {
    clearTimeout(state.checkTimer);
    state.checkTimer = setTimeout(checkNow, CHECK_DELAY_MS);
  }

  async function checkNow() {
    clearTimeout(state.checkTimer);
    if (!state.token) {
      setCheckStatus('Sign in to check the definitions', '');
      return;
    }
    const seq = ++state.checkSeq;
    if (state.checkAbort) state.checkAbort.abort();
    const abort = new AbortController();
    state.checkAbort = abort;
    const body = filesBody();
    setCheckStatus('Checking…', '');
    try {
      const response = await api('POST', '/v1/definitions/check', { body, signal: abort.signal });
      const result = await response.json();
      if (seq !== state.checkSeq) return;
      state.checkedText = JSON.stringify(body);
      applyCheck(result);
    } catch (e) {
      if (e.name === 'AbortError' || seq !== state.checkSeq) return;
      if (handleAuthFailure(e)) return;
      setCheckStatus(e.message, 'error');
      if (e.status === 422 && e.problem && e.problem.errors) {
        setCheckStatus(`${e.message} ${e.problem.errors.map((x) => x.message).join('; ')}`, 'error');
      }
    }
  }

  function applyCheck(result) {
    state.diagnostics = (result.diagnostics || []).filter((d) => d.severity !== 'note');
    const names = result.blueprints || [];
    if (state.visibleBlueprints) {
      state.hiddenBlueprints = new Set(names.filter((n) => !state.visibleBlueprints.has(n)));
      state.visibleBlueprints = null;
    }
    state.blueprints = names.filter((n) => !state.hiddenBlueprints.has(n));
    state.ok = Boolean(result.ok);
    const errors = state.diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = state.diagnostics.length - errors;
    const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
    if (state.ok) {
      setCheckStatus(`Compiles${warnings ? ` with ${plural(warnings, 'warning')}` : ''}`, 'ok');
    } else {
      setCheckStatus(`Does not compile: ${plural(errors, 'error')}`, 'error');
    }
    el.diagSummary.textContent = state.diagnostics.length
      ? `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`
      : 'No problems';
    el.diagSummary.className = `diag-summary ${errors ? 'error' : 'ok'}`;
    renderDiagnostics();
    renderTabs();
    renderEditorMarks();
    renderBlueprints();
    updatePublishButton();
    if (state.ok) {
      refreshDiagram();
    } else {
      el.diagram.classList.add('stale');
      if (el.diagram.querySelector('img')) {
        setDiagramStatus('The diagram shows the last version that compiled.', '');
      }
    }
  }

  function renderDiagnostics() {
    const list = document.createDocumentFragment();
    if (!state.diagnostics.length) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = 'No diagnostics: the definitions are clean.';
      list.append(li);
    }
    for (const d of state.diagnostics) {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = `diag ${d.severity}`;
      const loc = `${d.file || ''}:${d.line || 0}:${d.column || 0}`;
      button.setAttribute('aria-label',
                          `${d.severity} at ${d.file || ''} line ${d.line}, column ${d.column}: ` +
                          `${d.message}. Go to the line.`);
      const sev = document.createElement('span');
      sev.className = 'sev';
      sev.textContent = d.severity;
      const where = document.createElement('span');
      where.className = 'loc';
      where.textContent = loc;
      const msg = document.createElement('span');
      msg.className = 'msg';
      msg.textContent = d.message;
      button.append(sev, where, msg);
      button.addEventListener('click', () => jumpTo(d));
      li.append(button);
      list.append(li);
    }
    el.diagnostics.replaceChildren(list);
  }

  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      checkNow();
    }
  });

  // ---------------------------------------------------------------------------------------------
  // Diagram
  // ---------------------------------------------------------------------------------------------

  function renderBlueprints() {
    const previous = el.blueprint.value;
    el.blueprint.replaceChildren();
    if (!state.blueprints.length) {
      const option = new Option('(no blueprint)', '');
      el.blueprint.append(option);
      el.blueprint.disabled = true;
      return;
    }
    for (const name of state.blueprints) el.blueprint.append(new Option(name, name));
    el.blueprint.disabled = false;
    el.blueprint.value = state.blueprints.includes(previous) ? previous : state.blueprints[0];
  }

  function setDiagramStatus(text, kind) {
    el.diagramStatus.textContent = text;
    el.diagramStatus.className = `diagram-status ${kind || ''}`;
  }

  async function refreshDiagram() {
    const name = el.blueprint.value;
    if (!name || !state.ok || !state.token) return;
    const seq = ++state.diagramSeq;
    if (state.diagramAbort) state.diagramAbort.abort();
    const abort = new AbortController();
    state.diagramAbort = abort;
    setDiagramStatus(`Drawing ${name}…`, '');
    const query = `blueprint=${encodeURIComponent(name)}&format=svg`;
    try {
      const response = await api('POST', `/v1/diagram?${query}`, {
        body: filesBody(), signal: abort.signal, accept: 'image/svg+xml',
      });
      const blob = await response.blob();
      if (seq !== state.diagramSeq) return;
      // An <img> from a blob: URL: the SVG is displayed, never run or merged into the page.
      const url = URL.createObjectURL(new Blob([blob], { type: 'image/svg+xml' }));
      const img = new Image();
      img.alt = `State diagram of the blueprint ${name}`;
      img.dataset.blueprint = name;
      img.addEventListener('load', () => {
        if (seq !== state.diagramSeq) {
          URL.revokeObjectURL(url);
          return;
        }
        el.diagram.replaceChildren(img);
        el.diagram.classList.remove('stale');
        if (state.diagramUrl) URL.revokeObjectURL(state.diagramUrl);
        state.diagramUrl = url;
        el.download.href = url;
        el.download.download = `${name}.svg`;
        el.download.hidden = false;
        setDiagramStatus('', '');
      }, { once: true });
      img.addEventListener('error', () => {
        URL.revokeObjectURL(url);
        if (seq === state.diagramSeq) setDiagramStatus('The diagram could not be shown.', 'error');
      }, { once: true });
      img.src = url;
    } catch (e) {
      if (e.name === 'AbortError' || seq !== state.diagramSeq) return;
      if (handleAuthFailure(e)) return;
      el.diagram.classList.add('stale');
      setDiagramStatus(e.message, 'error');
    }
  }

  el.blueprint.addEventListener('change', refreshDiagram);
  el.fit.addEventListener('change', () => el.diagram.classList.toggle('fit', el.fit.checked));
  el.diagram.classList.toggle('fit', el.fit.checked);

  // ---------------------------------------------------------------------------------------------
  // Loading and publishing
  // ---------------------------------------------------------------------------------------------

  /** The names of the published blueprints the server lists for this caller (every page). */
  async function listedBlueprints() {
    const names = new Set();
    let after = '';
    for (let i = 0; i < 1000; i += 1) {
      const query = after ? `&after=${encodeURIComponent(after)}` : '';
      const response = await api('GET', `/v1/blueprints?limit=200${query}`);
      const page = await response.json();
      for (const item of page.items || []) names.add(item.name);
      if (!page.next) break;
      after = page.next;
    }
    return names;
  }

  async function loadPublished({ quiet = false } = {}) {
    if (!state.token) {
      notice('Sign in first to load the published definitions.', 'error');
      return;
    }
    try {
      const response = await api('GET', '/v1/definitions');
      const body = await response.json();
      const files = Object.entries(body.files || {}).map(([name, source]) => ({ name, source }));
      state.publishedVersion = Number.isInteger(body.version) ? body.version : null;
      state.visibleBlueprints = await listedBlueprints().catch(() => null);
      state.checkSeq += 1; // a check still running saw other files: its answer is dropped
      setFiles(files, 0);
      notice(`Loaded the published definitions, version ${body.version} ` +
             `(${files.length} file${files.length === 1 ? '' : 's'}).`);
      scheduleCheck();
    } catch (e) {
      if (handleAuthFailure(e)) return;
      if (e.status === 404 || e.status === 405) {
        if (!quiet) {
          notice('No published definitions are available from this server yet: ' +
                 'edit the sample or paste your own.');
        }
        return;
      }
      notice(`Could not load the published definitions. ${e.message}`, 'error');
    }
  }

  el.loadPublished.addEventListener('click', () => {
    const dirty = state.files.some((f) => f.source.trim()) &&
                  !(state.files.length === 1 && state.files[0].source === SAMPLE);
    if (dirty && !window.confirm('Replace the files in the editor with the published ones?')) {
      return;
    }
    loadPublished();
  });

  function updatePublishButton() {
    const compiles = state.ok && state.checkedText === JSON.stringify(filesBody());
    el.publish.disabled = !state.token || !compiles;
    el.publish.title = !state.token ? 'Sign in to publish'
      : compiles ? 'Publish these definitions' : 'Publishing needs definitions that compile';
  }

  el.scope.addEventListener('change', () => {
    const team = el.scope.value === 'team';
    el.team.hidden = !team;
    el.teamLabel.hidden = !team;
    el.team.required = team;
    if (team) el.team.focus();
  });

  function showPublishResult(text, kind, items = []) {
    el.publishResult.replaceChildren();
    el.publishResult.className = `publish-result ${kind}`;
    const p = document.createElement('div');
    p.textContent = text;
    el.publishResult.append(p);
    if (items.length) {
      const ul = document.createElement('ul');
      for (const item of items) {
        const li = document.createElement('li');
        li.textContent = item;
        ul.append(li);
      }
      el.publishResult.append(ul);
    }
  }

  el.publishForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (el.publish.disabled) return;
    const team = el.team.value.trim();
    if (el.scope.value === 'team' && !team) {
      showPublishResult('Name the teamspace to publish to.', 'error');
      el.team.focus();
      return;
    }
    const path = el.scope.value === 'team'
      ? `/v1/teamspaces/${encodeURIComponent(team)}/definitions` : '/v1/definitions';
    const headers = {};
    if (state.publishedVersion !== null && el.scope.value === 'org') {
      headers['If-Match'] = `"${state.publishedVersion}"`;
    }
    el.publish.disabled = true;
    showPublishResult('Publishing…', '');
    try {
      const response = await api('PUT', path, { body: filesBody(), headers });
      const result = await response.json();
      if (Number.isInteger(result.version)) state.publishedVersion = result.version;
      saveDraft();
      showPublishResult(`Published: the definitions are now version ${result.version}.`, 'ok');
    } catch (e) {
      if (handleAuthFailure(e)) return;
      const problem = e.problem || {};
      const items = (problem.errors || []).map((x) => (x.field ? `${x.field}: ` : '') + x.message);
      for (const s of problem.stranded || []) {
        items.push(`${s.module || ''} ${s.id || ''} in state "${s.state || ''}" would be stranded`);
      }
      if (Array.isArray(problem.diagnostics)) {
        applyCheck({ ok: false, diagnostics: problem.diagnostics, blueprints: state.blueprints });
      }
      let text = e.message;
      if (e.status === 404 && !problem.detail?.includes('teamspace')) {
        text = `Publishing is not available here (404)${problem.detail ? `: ${problem.detail}` : ''}.`;
      } else if (e.status === 409) {
        text = `${e.message} Someone published since you loaded version ` +
               `${state.publishedVersion}: load the published set and apply your changes again.`;
      }
      showPublishResult(text, 'error', items);
    } finally {
      updatePublishButton();
    }
  });

  // ---------------------------------------------------------------------------------------------
  // Start
  // ---------------------------------------------------------------------------------------------

  function start() {
    let draft = null;
    try {
      draft = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || 'null');
    } catch (_) { draft = null; }
    if (draft && Array.isArray(draft.files) && draft.files.length &&
        draft.files.every((f) => typeof f.name === 'string' && typeof f.source === 'string')) {
      state.publishedVersion = Number.isInteger(draft.version) ? draft.version : null;
      setFiles(draft.files, draft.current || 0);
    } else {
      setFiles([{ name: 'definitions.flow', source: SAMPLE }], 0);
    }
    renderSession();
    renderDiagnostics();
    el.diagSummary.textContent = '';
    if (state.token) {
      checkNow();
    } else {
      setCheckStatus('Sign in to check the definitions', '');
      el.token.focus();
    }
  }

  // Re-check the publish button whenever the text changes (the last check may be stale).
  el.source.addEventListener('input', updatePublishButton);
  new ResizeObserver(syncScroll).observe(el.source);
  start();
})();
