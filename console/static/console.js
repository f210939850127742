// The console's only script: live updates by polling (every ≤ 3 s), canned replies into the
// reply box, confirmation before resolving. No framework, no build, nothing from elsewhere.
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

  function toPersian(text) {
    return text.replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[Number(d)]);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const box = document.getElementById("conversation");
    if (box && box.dataset.poll) pollConversation(box);
    const queue = document.getElementById("queue-rows");
    if (queue) refreshQueue(queue);
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
