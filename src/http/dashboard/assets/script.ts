/**
 * The dashboard's only script: progressive enhancement. Every page works without it
 * (forms post, links navigate); with it, times show in local time, checkboxes select a
 * page at once, the invite form adapts, and a rollout's progress updates every second.
 * Plain ES2019, no build step, no external code. (No backticks or dollar-brace below:
 * this text lives in a template literal.)
 */
export const SCRIPT = String.raw`(function () {
  'use strict';
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var nf = new Intl.NumberFormat();

  function localText(iso, precision) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    return d.toLocaleString(undefined, precision === 'seconds'
      ? { dateStyle: 'medium', timeStyle: 'medium' } : { dateStyle: 'medium', timeStyle: 'short' });
  }
  function localTimes(root) {
    $$('time[data-local]', root).forEach(function (t) {
      t.title = t.textContent.trim();
      t.textContent = localText(t.getAttribute('datetime'), t.getAttribute('data-local'));
    });
  }
  localTimes();

  // Forms that ask before they act (cancel a rollout, reject a run).
  $$('form[data-confirm]').forEach(function (f) {
    f.addEventListener('submit', function (e) {
      if (!window.confirm(f.getAttribute('data-confirm'))) e.preventDefault();
    });
  });

  // Forms that must not be sent twice (the invite confirmation): the button is disabled once
  // sent. The server does not rely on it: the form's one-time key makes a second submit show
  // what the first created.
  $$('form[data-submit-once]').forEach(function (f) {
    f.addEventListener('submit', function () {
      setTimeout(function () { $$('button[type="submit"]', f).forEach(function (b) { b.disabled = true; b.setAttribute('aria-disabled', 'true'); }); }, 0);
    });
  });

  // Users: select a page at once, count the selection, highlight rows.
  var selForm = $('#selection-form');
  if (selForm) {
    var boxes = $$('input[name="userIds"]', selForm);
    var pageBox = $('[data-select-page]', selForm);
    var countEl = $('[data-selected-count]', selForm);
    var idsRadio = $('input[name="selection"][value="ids"]', selForm);
    var allRadio = $('input[name="selection"][value="filter"]', selForm);
    var hint = $('[data-selection-hint]', selForm);
    var refresh = function () {
      var n = boxes.filter(function (b) { return b.checked; }).length;
      if (countEl) countEl.textContent = nf.format(n);
      boxes.forEach(function (b) { var tr = b.closest('tr'); if (tr) tr.classList.toggle('selected', b.checked); });
      if (pageBox) {
        pageBox.checked = n > 0 && n === boxes.length;
        pageBox.indeterminate = n > 0 && n < boxes.length;
      }
    };
    boxes.forEach(function (b) {
      b.addEventListener('change', function () { if (b.checked && idsRadio) idsRadio.checked = true; refresh(); });
    });
    if (pageBox) {
      pageBox.addEventListener('change', function () {
        boxes.forEach(function (b) { b.checked = pageBox.checked; });
        if (pageBox.checked && idsRadio) idsRadio.checked = true;
        refresh();
      });
    }
    selForm.addEventListener('submit', function (e) {
      var n = boxes.filter(function (b) { return b.checked; }).length;
      if ((!allRadio || !allRadio.checked) && n === 0) {
        e.preventDefault();
        if (hint) { hint.hidden = false; hint.focus(); }
      }
    });
    refresh();
  }

  // Invite: show the date and time only for a scheduled rollout; default to the browser's time zone; count characters.
  var when = $$('input[name="when"]');
  var sched = $('[data-schedule-fields]');
  if (when.length && sched) {
    var sync = function () {
      var later = when.some(function (r) { return r.checked && r.value === 'later'; });
      sched.hidden = !later;
      $$('input, select', sched).forEach(function (i) { i.disabled = !later; });
    };
    when.forEach(function (r) { r.addEventListener('change', sync); });
    sync();
  }
  var tz = $('select[data-tz-auto]');
  if (tz) {
    try {
      var mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (mine && $$('option', tz).some(function (o) { return o.value === mine; })) tz.value = mine;
    } catch (e) { /* keep the server's default */ }
  }
  $$('textarea[data-counter]').forEach(function (ta) {
    var out = document.getElementById(ta.getAttribute('data-counter'));
    var max = Number(ta.getAttribute('maxlength')) || 0;
    var upd = function () { if (out) out.textContent = nf.format(ta.value.length) + ' / ' + nf.format(max); };
    ta.addEventListener('input', upd);
    upd();
  });

  // A sync run still queued or running: look again shortly.
  var auto = $('[data-auto-refresh]');
  if (auto) setTimeout(function () { window.location.reload(); }, Number(auto.getAttribute('data-auto-refresh')) || 2000);

  // A rollout's live progress: poll a small JSON document every second until it ends.
  var live = $('[data-progress-url]');
  if (live) {
    var url = live.getAttribute('data-progress-url');
    var timer = null;
    var failures = 0;
    var setText = function (name, value) {
      $$('[data-field="' + name + '"]').forEach(function (el) { el.textContent = value; });
    };
    var apply = function (p) {
      var bar = $('[data-progress-bar]');
      if (bar) { bar.value = p.percent; bar.textContent = p.percent + '%'; }
      setText('percent', p.percent + '%');
      Object.keys(p.counts).forEach(function (k) { setText(k, nf.format(p.counts[k])); });
      var badge = $('[data-status]');
      if (badge) { badge.textContent = p.statusLabel; badge.className = 'badge ' + p.badge; }
      var phase = $('[data-phase]');
      if (phase) phase.textContent = p.phaseAt ? p.phasePrefix + ' ' + localText(p.phaseAt, 'seconds') : p.phasePrefix;
      ['startedAt', 'finishedAt'].forEach(function (k) {
        var el = $('[data-time-field="' + k + '"]');
        if (el && p[k]) el.textContent = localText(p[k], 'seconds');
      });
      ['pause', 'resume', 'cancel'].forEach(function (a) {
        var f = $('[data-action="' + a + '"]');
        if (f) f.hidden = !p.actions[a];
      });
      var reasons = $('[data-skipped-reasons]');
      if (reasons && p.skippedText) reasons.textContent = p.skippedText;
      if (p.terminal) {
        var note = $('[data-final-note]');
        if (note && live.getAttribute('data-terminal') !== 'true') note.hidden = false;
      }
    };
    var poll = function () {
      fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (p) {
          failures = 0;
          apply(p);
          if (p.terminal) { clearInterval(timer); timer = null; }
        })
        .catch(function () { if (++failures >= 30 && timer) { clearInterval(timer); timer = null; } });
    };
    if (live.getAttribute('data-terminal') !== 'true') timer = setInterval(poll, 1000);
  }
})();
`;
