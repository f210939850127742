// The sandbox web chat. It speaks only to the control API (/sandbox/api), as the tests do.
// Message bodies arrive as safe HTML built by the server from entities; everything else is
// put on the page with textContent.
"use strict";

(function () {
  const page = JSON.parse(document.getElementById("page-data").textContent);
  const S = page.strings;
  const API = "/sandbox/api";
  const $ = (id) => document.getElementById(id);

  const state = {
    bot: null,
    user: null,
    cursor: 0,
    messages: new Map(),
    notes: [],
    keyboard: null,
    keyboardOverride: null,
    rendered: 0, // messages drawn by the last render
    stuck: true, // the reader is at the end of the conversation
    typingUntil: 0,
    pollToken: 0,
    contactButton: null,
  };

  const persianDigits = (text) => String(text).replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]);

  function toast(text, alert) {
    if (!text) return;
    if (alert) { window.alert(text); return; }
    const el = $("toast");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { el.hidden = true; }, 3000);
  }

  async function api(method, path, body, isForm) {
    const options = { method, headers: {} };
    if (body !== undefined) {
      if (isForm) {
        options.body = body;
      } else {
        options.body = JSON.stringify(body);
        options.headers["Content-Type"] = "application/json";
      }
    }
    let response;
    try {
      response = await fetch(API + path, options);
    } catch (err) {
      toast(S.error_network);
      throw err;
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok || data.ok === false) {
      toast(S.error_generic);
      throw new Error(data.error || response.statusText);
    }
    return data;
  }

  // ----------------------------------------------------------------- bots and users

  function platformName(platform) {
    return platform === "bale" ? S.platform_bale : S.platform_telegram;
  }

  function setupBots() {
    const select = $("bot-select");
    select.textContent = "";
    for (const bot of page.bots) {
      const option = document.createElement("option");
      option.value = String(bot.id);
      option.textContent = platformName(bot.platform);
      select.append(option);
    }
    const saved = localStorage.getItem("sandbox.bot");
    const chosen = page.bots.find((b) => String(b.id) === saved) || page.bots[0];
    state.bot = chosen ? chosen.id : null;
    select.value = String(state.bot);
    $("bot-pick").hidden = page.bots.length < 2;
    select.addEventListener("change", () => {
      state.bot = Number(select.value);
      localStorage.setItem("sandbox.bot", select.value);
      if (state.user) openChat(state.user);
    });
  }

  async function showPicker() {
    state.pollToken += 1;
    state.user = null;
    $("chat").hidden = true;
    $("picker").hidden = false;
    $("change-user").hidden = true;
    const data = await api("GET", "/users");
    const list = $("user-list");
    list.textContent = "";
    if (!data.users.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = S.no_users;
      list.append(li);
    }
    for (const user of data.users) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.testid = "user-" + user.id;
      button.textContent = [user.first_name, user.last_name || ""].join(" ").trim() +
        " — " + persianDigits(user.id);
      button.addEventListener("click", () => openChat(user));
      li.append(button);
      list.append(li);
    }
  }

  async function createUser(event) {
    event.preventDefault();
    const firstName = $("new-first-name").value.trim();
    if (!firstName) { toast(S.name_required); return; }
    const body = { first_name: firstName };
    const lastName = $("new-last-name").value.trim();
    if (lastName) body.last_name = lastName;
    const rawId = toAsciiDigits($("new-user-id").value.trim());
    if (rawId) body.id = Number(rawId);
    const data = await api("POST", "/users", body);
    $("new-user").reset();
    openChat(data.user);
  }

  function toAsciiDigits(text) {
    return text.replace(/[۰-۹]/g, (d) => "۰۱۲۳۴۵۶۷۸۹".indexOf(d))
      .replace(/[٠-٩]/g, (d) => "٠١٢٣٤٥٦٧٨٩".indexOf(d));
  }

  function openChat(user) {
    state.user = user;
    state.cursor = 0;
    state.messages = new Map();
    state.notes = [];
    state.keyboard = null;
    state.typingUntil = 0;
    state.rendered = 0;
    state.stuck = true;
    localStorage.setItem("sandbox.user", String(user.id));
    $("picker").hidden = true;
    $("chat").hidden = false;
    $("change-user").hidden = false;
    $("subtitle").textContent = S.user_label + ": " + user.first_name +
      " (" + persianDigits(user.id) + ")";
    render();
    poll(++state.pollToken);
    $("text").focus();
  }

  // ------------------------------------------------------------------------ events

  async function poll(token) {
    while (token === state.pollToken && state.user) {
      const user = state.user;
      let data;
      try {
        data = await fetch(
          `${API}/chats/${user.id}/events?bot=${state.bot}&since=${state.cursor}&wait=20`
        ).then((r) => r.json());
      } catch (err) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (token !== state.pollToken) return;
      if (data.ok === false) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      for (const event of data.events) apply(event);
      state.cursor = data.cursor;
      const before = JSON.stringify(state.keyboard && state.keyboard.markup);
      if (JSON.stringify(data.keyboard && data.keyboard.markup) !== before) state.keyboardOverride = null;
      state.keyboard = data.keyboard;
      render();
    }
  }

  function apply(event) {
    if (event.message) {
      state.messages.set(event.message.message_id, event.message);
      if (event.kind === "message" && event.sender === "bot") state.typingUntil = 0;
    }
    if (event.kind === "chat_action") {
      state.typingUntil = Date.now() + 5000;
      setTimeout(renderTyping, 5100);
    } else if (event.kind === "callback_answer" && event.callback) {
      toast(event.callback.text, event.callback.show_alert);
    } else if (event.kind === "blocked" || event.kind === "unblocked") {
      state.notes.push({ at: event.at, text: event.kind === "blocked" ? S.blocked_note : S.unblocked_note });
    }
  }

  // ------------------------------------------------------------------------ render

  function timeOf(seconds) {
    return new Date(seconds * 1000).toLocaleTimeString("fa-IR", { hour: "2-digit", minute: "2-digit" });
  }

  function atBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  function scrollToEnd() {
    const box = $("messages");
    box.scrollTop = box.scrollHeight;
    state.stuck = true;
  }

  function render() {
    const box = $("messages");
    // Follow the conversation when the reader was at its end, or when a message arrived: a
    // chat shows its newest message, as the messengers do.
    const follow = state.stuck || atBottom(box) || state.messages.size !== state.rendered;
    state.rendered = state.messages.size;
    box.textContent = "";
    const items = [...state.messages.values()].sort((a, b) => a.message_id - b.message_id);
    if (!items.length) {
      const empty = document.createElement("div");
      empty.className = "empty-chat";
      empty.textContent = S.empty_chat;
      box.append(empty);
    }
    for (const message of items) box.append(renderMessage(message));
    for (const note of state.notes) {
      const el = document.createElement("div");
      el.className = "system-note";
      el.textContent = note.text;
      box.append(el);
    }
    // The reply keyboard and the typing line first: they take height from the message list
    // (right after verification the menu appears, on reopening the chat it comes with the
    // history), and scrolling before they were drawn left the newest messages hidden below.
    renderKeyboard();
    renderTyping();
    renderStart();
    if (follow) scrollToEnd();
  }

  // The start button of a chat with no message yet, like the messengers' START: it sends /start.
  function renderStart() {
    // Shown until the first message (a reopened chat's history hides it as it arrives).
    $("start").hidden = !state.user || state.messages.size > 0;
  }

  async function pressStart() {
    if (!state.user) return;
    $("start").hidden = true;
    await api("POST", userPath("command"), { command: "start", bot: state.bot });
  }

  // Codes like 1420-022185 read left to right inside Persian text: after Arabic letters their
  // digits count as Arabic numbers and the hyphen between them stays neutral, so the groups
  // came out reversed (022185-1420). Each such run is isolated in a <bdi dir="ltr">.
  const CODE_RUN = /[0-9\u06F0-\u06F9\u0660-\u0669]+(?:[-\/][0-9\u06F0-\u06F9\u0660-\u0669]+)+/g;

  function isolateCodes(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    for (const node of nodes) {
      const text = node.nodeValue;
      CODE_RUN.lastIndex = 0;
      if (!CODE_RUN.test(text)) continue;
      const parts = document.createDocumentFragment();
      let last = 0;
      text.replace(CODE_RUN, (match, offset) => {
        parts.append(text.slice(last, offset));
        const bdi = document.createElement("bdi");
        bdi.dir = "ltr";
        bdi.className = "code";
        bdi.textContent = match;
        parts.append(bdi);
        last = offset + match.length;
        return match;
      });
      parts.append(text.slice(last));
      node.replaceWith(parts);
    }
  }

  function renderMessage(message) {
    const bubble = document.createElement("div");
    bubble.className = "bubble " + message.sender;
    bubble.dataset.testid = message.sender + "-message";
    bubble.dataset.messageId = String(message.message_id);
    if (message.deleted) {
      bubble.classList.add("deleted");
      const body = document.createElement("div");
      body.className = "body";
      body.textContent = S.deleted;
      bubble.append(body);
      return bubble;
    }
    if (message.file && (message.kind === "photo" || message.kind === "sticker")) {
      const img = document.createElement("img");
      img.src = message.file.url;
      img.alt = S[message.kind] || S.photo;
      bubble.append(img);
    } else if (message.file) {
      const link = document.createElement("a");
      link.className = "file";
      link.href = message.file.url;
      link.target = "_blank";
      link.textContent = "📄 " + (message.file.file_name || S[message.kind] || S.document);
      bubble.append(link);
    }
    if (message.contact) {
      const contact = document.createElement("div");
      contact.className = "file";
      contact.textContent = "👤 " + S.contact + ": " + (message.contact.first_name || "") + " " +
        persianDigits(message.contact.phone_number);
      bubble.append(contact);
    }
    if (message.location) {
      const location = document.createElement("div");
      location.className = "file";
      location.textContent = "📍 " + S.location;
      bubble.append(location);
    }
    if (message.html !== null && message.html !== undefined) {
      const body = document.createElement("div");
      body.className = "body";
      body.dir = "auto"; // "/start" or a Latin reply reads left to right, Persian right to left
      body.innerHTML = message.html; // built by the server: escaped text plus allowed tags only
      isolateCodes(body);
      bubble.append(body);
    } else if (!message.file && !message.contact && !message.location) {
      const body = document.createElement("div");
      body.className = "body";
      body.textContent = S[message.kind] || S.unsupported;
      bubble.append(body);
    }
    if (message.keyboard_kind === "inline") bubble.append(renderInline(message));
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = (message.edited ? S.edited + " · " : "") + timeOf(message.date);
    bubble.append(meta);
    return bubble;
  }

  function renderInline(message) {
    const box = document.createElement("div");
    box.className = "inline-kb";
    for (const row of message.reply_markup.inline_keyboard) {
      const line = document.createElement("div");
      line.className = "row";
      for (const button of row) {
        let el;
        if (button.url) {
          el = document.createElement("a");
          el.href = button.url;
          el.target = "_blank";
          el.rel = "noopener noreferrer";
        } else {
          el = document.createElement("button");
          el.type = "button";
          el.addEventListener("click", () => pressInline(message, button));
        }
        el.dataset.testid = "inline-button";
        el.textContent = button.text;
        line.append(el);
      }
      box.append(line);
    }
    return box;
  }

  function renderKeyboard() {
    const box = $("keyboard");
    const toggle = $("keyboard-toggle");
    const keyboard = state.keyboard;
    box.textContent = "";
    if (!keyboard) {
      box.hidden = true;
      toggle.hidden = true;
      return;
    }
    const collapsed = state.keyboardOverride ? state.keyboardOverride === "hide" : keyboard.collapsed;
    toggle.hidden = false;
    toggle.title = collapsed ? S.keyboard_show : S.keyboard_hide;
    box.hidden = collapsed;
    for (const row of keyboard.markup.keyboard) {
      const line = document.createElement("div");
      line.className = "row";
      for (const raw of row) {
        const button = typeof raw === "string" ? { text: raw } : raw;
        const el = document.createElement("button");
        el.type = "button";
        el.dataset.testid = "reply-button";
        el.textContent = button.text;
        if (button.request_contact || button.request_location) el.classList.add("request");
        el.addEventListener("click", () => pressReply(button));
        line.append(el);
      }
      box.append(line);
    }
  }

  function renderTyping() {
    $("typing").hidden = Date.now() >= state.typingUntil;
  }

  // ----------------------------------------------------------------------- actions

  function userPath(suffix) {
    return `/users/${state.user.id}/${suffix}`;
  }

  async function sendText(event) {
    event.preventDefault();
    const input = $("text");
    const text = input.value;
    if (!text.trim() || !state.user) return;
    input.value = "";
    await api("POST", userPath("text"), { text, bot: state.bot });
  }

  async function pressInline(message, button) {
    await api("POST", userPath("inline_button"), {
      message_id: message.message_id,
      callback_data: button.callback_data,
      text: button.text,
      bot: state.bot,
    });
  }

  async function pressReply(button) {
    state.keyboardOverride = null;
    if (button.request_contact) {
      openContactDialog(button);
      return;
    }
    await api("POST", userPath("reply_button"), { text: button.text, bot: state.bot });
  }

  function openContactDialog(button) {
    state.contactButton = button;
    const choices = $("contact-choices");
    choices.textContent = "";
    const options = page.personas.map((p) => ({ label: p.name, mobile: p.mobile }));
    options.push({ label: S.contact_unknown, mobile: page.unknown_number });
    options.forEach((option, index) => {
      const label = document.createElement("label");
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "contact-number";
      radio.value = option.mobile;
      radio.checked = index === 0;
      radio.dataset.testid = "contact-choice";
      const name = document.createElement("span");
      name.textContent = option.label;
      const number = document.createElement("span");
      number.className = "number";
      number.textContent = persianDigits(option.mobile);
      label.append(radio, name, number);
      choices.append(label);
    });
    const custom = document.createElement("label");
    const customRadio = document.createElement("input");
    customRadio.type = "radio";
    customRadio.name = "contact-number";
    customRadio.value = "custom";
    const customText = document.createElement("input");
    customText.type = "text";
    customText.id = "contact-custom";
    customText.placeholder = S.contact_custom_placeholder;
    customText.addEventListener("focus", () => { customRadio.checked = true; });
    const customLabel = document.createElement("span");
    customLabel.textContent = S.contact_custom;
    custom.append(customRadio, customLabel, customText);
    choices.append(custom);
    $("contact-other").checked = button === null;
    $("contact-dialog").showModal();
  }

  async function contactChosen() {
    const dialog = $("contact-dialog");
    if (dialog.returnValue !== "send") return;
    const picked = document.querySelector("input[name=contact-number]:checked");
    if (!picked) return;
    let mobile = picked.value;
    if (mobile === "custom") mobile = toAsciiDigits($("contact-custom").value.trim());
    if (!mobile) return;
    // Telegram's apps send a shared number in international form without the plus sign.
    const phone = mobile.startsWith("0") ? "98" + mobile.slice(1) : mobile;
    const someoneElse = $("contact-other").checked;
    const button = state.contactButton;
    if (button && !someoneElse) {
      await api("POST", userPath("reply_button"), {
        text: button.text, phone_number: phone, own: true, bot: state.bot,
      });
    } else {
      const persona = page.personas.find((p) => p.mobile === mobile);
      await api("POST", userPath("contact"), {
        phone_number: phone,
        own: false,
        first_name: persona ? persona.name : S.contact,
        bot: state.bot,
      });
    }
  }

  async function sendFile() {
    const input = $("file");
    const file = input.files && input.files[0];
    if (!file || !state.user) return;
    const form = new FormData();
    form.append("file", file);
    form.append("kind", file.type.startsWith("image/") ? "photo" : "document");
    form.append("bot", String(state.bot));
    const caption = $("text").value.trim();
    if (caption) {
      form.append("caption", caption);
      $("text").value = "";
    }
    input.value = "";
    await api("POST", userPath("upload"), form, true);
  }

  // -------------------------------------------------------------------------- wire

  setupBots();
  $("new-user").addEventListener("submit", (e) => createUser(e).catch(() => {}));
  $("change-user").addEventListener("click", () => showPicker().catch(() => {}));
  $("composer").addEventListener("submit", (e) => sendText(e).catch(() => {}));
  $("attach").addEventListener("click", () => { $("attach-menu").hidden = !$("attach-menu").hidden; });
  $("attach-photo").addEventListener("click", () => { $("attach-menu").hidden = true; $("file").click(); });
  $("attach-contact").addEventListener("click", () => { $("attach-menu").hidden = true; openContactDialog(null); });
  $("attach-location").addEventListener("click", () => {
    $("attach-menu").hidden = true;
    api("POST", userPath("location"), { bot: state.bot }).catch(() => {});
  });
  $("file").addEventListener("change", () => sendFile().catch(() => {}));
  $("keyboard-toggle").addEventListener("click", () => {
    state.keyboardOverride = $("keyboard").hidden ? "show" : "hide";
    renderKeyboard();
  });
  $("contact-dialog").addEventListener("close", () => contactChosen().catch(() => {}));
  $("start").addEventListener("click", () => pressStart().catch(() => {}));
  $("messages").addEventListener("scroll", () => { state.stuck = atBottom($("messages")); });
  // The list shrinks when the keyboard appears or grows (and when the window does): a reader
  // at the end stays at the end.
  new ResizeObserver(() => { if (state.stuck) scrollToEnd(); }).observe($("messages"));

  (async () => {
    const saved = Number(localStorage.getItem("sandbox.user"));
    if (saved) {
      const data = await fetch(`${API}/users/${saved}`).then((r) => r.json()).catch(() => null);
      if (data && data.ok) { openChat(data.user); return; }
    }
    await showPicker();
  })().catch(() => {});
})();
