// The console's only script: live updates by polling (every ≤ 3 s), canned replies into the
// reply box, confirmation before resolving, menu badges with the tab title, a chime and a
// browser notification for a new chat in the queue, keyboard shortcuts. No framework, no
// build, nothing from elsewhere.
"use strict";

(function () {
  const pollMs = Number(document.body.dataset.pollMs || 2000);

  function pollConversation(box) {
    const list = document.getElementById("messages");
    let lastId = Number(box.dataset.lastId || 0);
    let status = box.dataset.status;
    async function tick() {
      try {
        const response = await fetch(box.dataset.poll + "?after=" + lastId, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        if (response.ok) {
          const data = await response.json();
          for (const m of data.messages) {
            if (m.id <= lastId || list.querySelector('[data-id="' + m.id + '"]')) continue;
            // The HTML was rendered (and escaped) by the server's own template.
            list.insertAdjacentHTML("beforeend", m.html);
            lastId = m.id;
          }
          if (data.messages.length) list.scrollTop = list.scrollHeight;
          for (const d of data.deliveries || []) {
            const tick = list.querySelector('[data-id="' + d.id + '"] .delivery');
            if (tick && !tick.classList.contains(d.status)) {
              tick.className = "delivery " + d.status;
              tick.textContent = d.label;
            }
          }
          if (data.status !== status) {
            status = data.status;
            box.dataset.status = status;
            document.getElementById("status-changed").classList.remove("hidden");
          }
        }
      } catch (error) {
        // The network hiccuped: try again at the next tick.
      }
      setTimeout(tick, pollMs);
    }
    list.scrollTop = list.scrollHeight;
    setTimeout(tick, pollMs);
  }

  function refreshQueue(body) {
    async function tick() {
      try {
        const response = await fetch(body.dataset.refresh, { credentials: "same-origin" });
        if (response.ok) {
          body.innerHTML = await response.text();
          const count = document.getElementById("queue-count");
          if (count) count.textContent = toPersian(String(body.querySelectorAll("tr[data-id]").length));
        }
      } catch (error) {
        // try again later
      }
      setTimeout(tick, Math.max(pollMs, 3000));
    }
    setTimeout(tick, Math.max(pollMs, 3000));
  }

  // --- menu badges, tab title, and the new-chat chime -----------------------------------
  const baseTitle = document.title;
  let newestQueued = null;

  function chime() {
    // A short two-note chime made here with WebAudio: no sound file to fetch.
    const AudioCtx = window.AudioContext || window.webkitAudioContext;
    if (!AudioCtx) return;
    try {
      const ctx = new AudioCtx();
      [660, 880].forEach(function (freq, i) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = "sine";
        osc.frequency.value = freq;
        const start = ctx.currentTime + i * 0.18;
        gain.gain.setValueAtTime(0.0001, start);
        gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
        osc.connect(gain).connect(ctx.destination);
        osc.start(start);
        osc.stop(start + 0.17);
      });
      window.__chimes = (window.__chimes || 0) + 1;
      setTimeout(function () { ctx.close(); }, 600);
    } catch (error) {
      // No audio device: the badge and the title still tell.
    }
  }

  function notifyNewChat(body) {
    window.__notified = (window.__notified || 0) + 1;
    chime();
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        new Notification(body.dataset.alertTitle || "", { tag: "tamin-queue", lang: "fa", dir: "rtl" });
      } catch (error) {
        // Some browsers allow notifications only from a service worker.
      }
    }
  }

  function setBadge(id, value) {
    const badge = document.getElementById(id);
    if (!badge) return;
    badge.textContent = toPersian(String(value));
    badge.hidden = !value;
  }

  function pollCounts(body) {
    async function tick() {
      try {
        const response = await fetch(body.dataset.counts, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        if (response.ok) {
          const data = await response.json();
          setBadge("count-queue", data.queue);
          setBadge("count-mine", data.mine);
          setBadge("count-requests", data.requests);
          setBadge("count-tickets", data.tickets);
          const waiting = data.queue + data.mine;
          document.title = waiting ? "(" + toPersian(String(waiting)) + ") " + baseTitle : baseTitle;
          if (newestQueued !== null && data.newest_queued > newestQueued) notifyNewChat(body);
          newestQueued = Math.max(newestQueued || 0, data.newest_queued);
        }
      } catch (error) {
        // try again at the next tick
      }
      setTimeout(tick, Math.max(pollMs, 3000));
    }
    tick();
  }

  function setUpAlerts() {
    const button = document.getElementById("enable-alerts");
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      // Browsers allow sound and notifications only after a gesture of the user.
      chime();
      if ("Notification" in window && Notification.permission === "default") {
        Notification.requestPermission();
      }
      button.hidden = true;
    });
  }

  // --- keyboard shortcuts -----------------------------------------------------------------
  function setUpShortcuts() {
    document.addEventListener("keydown", function (event) {
      const area = document.getElementById("reply-text") || document.getElementById("answer-text");
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && area && document.activeElement === area) {
        event.preventDefault();
        if (area.value.trim()) area.form.requestSubmit();
        return;
      }
      if (event.altKey && (event.code === "KeyR" || event.key === "r") && area) {
        event.preventDefault();
        area.focus();
        return;
      }
      const canned = document.getElementById("canned");
      const digit = event.code && event.code.startsWith("Digit") ? Number(event.code.slice(5)) : NaN;
      if (event.altKey && canned && digit >= 1 && digit <= 9) {
        const option = canned.options[digit];
        if (option && option.dataset.text) {
          event.preventDefault();
          canned.value = option.value;
          canned.dispatchEvent(new Event("change"));
        }
        return;
      }
      const typing = /^(INPUT|TEXTAREA|SELECT)$/.test((document.activeElement || {}).tagName || "");
      if (event.key === "/" && !typing) {
        const search = document.getElementById("nav-search");
        if (search) {
          event.preventDefault();
          search.focus();
        }
      }
    });
  }

  function toPersian(text) {
    return text.replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[Number(d)]);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const box = document.getElementById("conversation");
    if (box && box.dataset.poll) pollConversation(box);
    const queue = document.getElementById("queue-rows");
    if (queue) refreshQueue(queue);
    if (document.body.dataset.counts) {
      pollCounts(document.body);
      setUpAlerts();
    }
    setUpShortcuts();
    const canned = document.getElementById("canned");
    if (canned) {
      canned.addEventListener("change", function () {
        const option = canned.selectedOptions[0];
        const area = document.getElementById("reply-text");
        if (option && option.dataset.text) {
          area.value = area.value ? area.value + "\n" + option.dataset.text : option.dataset.text;
          area.focus();
        }
        canned.value = "";
      });
    }
    for (const form of document.querySelectorAll("form[data-confirm]")) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    }
  });
})();
