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

  var store = {
    get: function (k) { try { var v = window.sessionStorage.getItem('hrsync:' + k); return v ? JSON.parse(v) : null; } catch (e) { return null; } },
    set: function (k, v) { try { window.sessionStorage.setItem('hrsync:' + k, JSON.stringify(v)); } catch (e) { /* private mode: nothing kept */ } },
    del: function (k) { try { window.sessionStorage.removeItem('hrsync:' + k); } catch (e) { /* nothing kept */ } }
  };

  // Forms that must not be sent twice (the invite confirmation): once sent, the button is
  // disabled and says it is busy, and a second submit (Enter again) is dropped. The server does
  // not rely on it: the form's one-time key makes a second submit land on what the first created.
  $$('form[data-submit-once]').forEach(function (f) {
    var sent = false;
    var labels = $$('button[type="submit"]', f).map(function (b) { return b.textContent; });
    f.addEventListener('submit', function (e) {
      if (sent) { e.preventDefault(); return; }
      sent = true;
      if (f.getAttribute('data-forget')) store.del(f.getAttribute('data-forget'));
      // Invited: the users ticked for it are no longer a selection in progress.
      if (f.getAttribute('data-forget-ticks')) store.del('ticks:' + f.getAttribute('data-forget-ticks'));
      f.setAttribute('aria-busy', 'true');
      setTimeout(function () {
        $$('button[type="submit"]', f).forEach(function (b) {
          b.disabled = true; b.setAttribute('aria-disabled', 'true');
          if (f.getAttribute('data-busy-text')) b.textContent = f.getAttribute('data-busy-text');
        });
      }, 0);
    });
    // Back to a page kept in memory: the button works again (the server knows what was done).
    window.addEventListener('pageshow', function (e) {
      if (!e.persisted) return;
      sent = false;
      f.removeAttribute('aria-busy');
      $$('button[type="submit"]', f).forEach(function (b, i) { b.disabled = false; b.removeAttribute('aria-disabled'); b.textContent = labels[i]; });
    });
  });

  // Forms whose content survives a session end or a reload in this tab (the invite form):
  // kept in sessionStorage as it is typed, put back when the page shows again, dropped once sent.
  $$('form[data-persist]').forEach(function (f) {
    var key = f.getAttribute('data-persist');
    var inputs = function () { return $$('input[name], textarea[name], select[name]', f).filter(function (i) { return i.type !== 'hidden'; }); };
    var saved = store.get(key);
    if (saved) {
      inputs().forEach(function (i) {
        if (!(i.name in saved)) return;
        var v = saved[i.name];
        if (i.type === 'radio' || i.type === 'checkbox') i.checked = v === i.value;
        else if (v !== null) i.value = v;
      });
    }
    var save = function () {
      var out = {};
      inputs().forEach(function (i) {
        if (i.type === 'radio') { if (i.checked) out[i.name] = i.value; else if (!(i.name in out)) out[i.name] = null; }
        else if (i.type === 'checkbox') out[i.name] = i.checked ? i.value : null;
        else out[i.name] = i.value;
      });
      store.set(key, out);
    };
    f.addEventListener('input', save);
    f.addEventListener('change', save);
  });

  // Users: select a page at once, count the selection, highlight rows. Ticks are kept in this
  // tab across pages and filters (sessionStorage) until the invitation is confirmed or they are cleared.
  var selForm = $('#selection-form');
  if (selForm) {
    var ticksKey = 'ticks:' + (selForm.getAttribute('data-org') || '');
    var ticks = store.get(ticksKey) || {};
    var boxes = $$('input[name="userIds"]', selForm);
    var pageBox = $('[data-select-page]', selForm);
    var countEl = $('[data-selected-count]', selForm);
    var idsRadio = $('input[name="selection"][value="ids"]', selForm);
    var allRadio = $('input[name="selection"][value="filter"]', selForm);
    var hint = $('[data-selection-hint]', selForm);
    var clearBtn = $('[data-clear-selection]', selForm);
    var count = function () { return Object.keys(ticks).length; };
    var refresh = function () {
      var n = boxes.filter(function (b) { return b.checked; }).length;
      if (countEl) countEl.textContent = nf.format(count());
      if (clearBtn) clearBtn.hidden = count() === 0;
      boxes.forEach(function (b) { var tr = b.closest('tr'); if (tr) tr.classList.toggle('selected', b.checked); });
      if (pageBox) {
        pageBox.checked = n > 0 && n === boxes.length;
        pageBox.indeterminate = n > 0 && n < boxes.length;
      }
    };
    var remember = function (b) { if (b.checked) ticks[b.value] = 1; else delete ticks[b.value]; };
    var load = function () {
      // Ticks from other pages, and boxes the browser put back (Back): both count.
      boxes.forEach(function (b) { if (ticks[b.value]) b.checked = true; else if (b.checked) ticks[b.value] = 1; });
      store.set(ticksKey, ticks);
      refresh();
    };
    boxes.forEach(function (b) {
      b.addEventListener('change', function () { remember(b); store.set(ticksKey, ticks); if (b.checked && idsRadio) idsRadio.checked = true; refresh(); });
    });
    if (pageBox) {
      pageBox.addEventListener('change', function () {
        boxes.forEach(function (b) { b.checked = pageBox.checked; remember(b); });
        store.set(ticksKey, ticks);
        if (pageBox.checked && idsRadio) idsRadio.checked = true;
        refresh();
      });
    }
    if (clearBtn) {
      clearBtn.addEventListener('click', function () {
        ticks = {};
        store.set(ticksKey, ticks);
        boxes.forEach(function (b) { b.checked = false; });
        refresh();
      });
    }
    selForm.addEventListener('submit', function (e) {
      var byAll = allRadio && allRadio.checked;
      if (!byAll && count() === 0) {
        e.preventDefault();
        if (hint) { hint.hidden = false; hint.focus(); }
        return;
      }
      if (byAll) return;
      // The ticks of other pages go with this page's.
      var here = {};
      boxes.forEach(function (b) { here[b.value] = 1; });
      Object.keys(ticks).forEach(function (id) {
        if (here[id]) return;
        var h = document.createElement('input');
        h.type = 'hidden'; h.name = 'userIds'; h.value = id;
        selForm.appendChild(h);
      });
    });
    window.addEventListener('pageshow', function (e) { if (e.persisted) load(); });
    load();
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
    var max = Number(ta.getAttribute('data-max') || ta.getAttribute('maxlength')) || 0;
    var upd = function () {
      if (!out) return;
      var n = ta.value.trim().length;
      out.textContent = nf.format(n) + ' / ' + nf.format(max) + ' characters' + (max && n > max ? ': ' + nf.format(n - max) + ' too many' : '');
      out.classList.toggle('error-text', max > 0 && n > max);
    };
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
      Object.keys(p.counts).forEach(function (k) {
        // "about N" (the preview's count) stays until the rollout has fired and counted its targets.
        if (k === 'targeted' && p.counts[k] === 0 && $('[data-about]')) return;
        setText(k, nf.format(p.counts[k]));
      });
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
    // Signed out meanwhile: stop, say so, and show no buttons that would only lead to the sign-in page.
    var signedOut = function () {
      if (timer) { clearInterval(timer); timer = null; }
      $$('[data-action]').forEach(function (f) { f.hidden = true; });
      if ($('[data-signed-out]')) return;
      var box = document.createElement('div');
      box.className = 'notice notice-error';
      box.setAttribute('role', 'alert');
      box.setAttribute('data-signed-out', '');
      var a = document.createElement('a');
      a.href = '/dashboard/sign-in?expired=1&next=' + encodeURIComponent(window.location.pathname + window.location.search);
      a.textContent = 'sign in again';
      box.appendChild(document.createTextNode('Signed out: the numbers below are no longer updated. Please '));
      box.appendChild(a);
      box.appendChild(document.createTextNode('.'));
      var main = $('#main');
      if (main) main.insertBefore(box, main.firstChild);
      live.setAttribute('data-stale', 'true');
    };
    var poll = function () {
      fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
        .then(function (r) {
          if (r.status === 401) { signedOut(); throw new Error('signed out'); }
          if (!r.ok) throw new Error(String(r.status));
          return r.json();
        })
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
