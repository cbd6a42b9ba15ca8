// llmgate admin UI (D152): plain DOM over the gateway's management API.
// Every value from the API is written with textContent, never as HTML; the
// key lives in sessionStorage and travels only in the Authorization header.
"use strict";

(function () {
  const KEY = "llmgate.adminKey";
  const PAGE_SIZE = 50;
  const MAX_LOG_ROWS = 200;
  const $ = (id) => document.getElementById(id);
  let keysPage = 1;
  let current = "";

  // --- the API -----------------------------------------------------------

  class APIError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // errorText is an error answer's message: OpenAI's {"error":{"message"}}
  // or FastAPI's {"detail"}, else the status.
  function errorText(status, body) {
    if (body && typeof body === "object") {
      if (body.error && typeof body.error === "object" && body.error.message != null) {
        return String(body.error.message);
      }
      if (typeof body.error === "string") return body.error;
      if (body.detail != null) {
        return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
      }
    }
    return "HTTP " + status;
  }

  async function api(method, path, body, key) {
    const headers = { Authorization: "Bearer " + (key || sessionStorage.getItem(KEY) || "") };
    const init = { method: method, headers: headers, credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new APIError(0, "The gateway did not answer: " + e.message);
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!res.ok) throw new APIError(res.status, errorText(res.status, data));
    return data;
  }

  // --- rendering -----------------------------------------------------------

  function el(tag, props, children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "text") n.textContent = v;
      else if (k === "className") n.className = v;
      else if (k === "onclick") n.addEventListener("click", v);
      else n.setAttribute(k, v);
    }
    for (const c of children || []) n.append(c);
    return n;
  }

  function text(v) {
    if (v === null || v === undefined || v === "") return "—";
    if (Array.isArray(v)) return v.length ? v.map(String).join(", ") : "—";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  function money(v) {
    if (v === null || v === undefined) return "—";
    const n = Number(v);
    if (!Number.isFinite(n)) return String(v);
    return "$" + (n !== 0 && Math.abs(n) < 0.01 ? n.toPrecision(3) : n.toFixed(2));
  }

  function date(v) {
    if (!v) return "—";
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  // table fills a <table> with a header row and one row per item; a column
  // is {label, value: item => string | Node, num: bool}.
  function table(t, columns, items, empty) {
    t.replaceChildren();
    const head = el("tr", {}, columns.map((c) => el("th", { text: c.label })));
    t.append(el("thead", {}, [head]));
    const body = el("tbody");
    if (!items.length) {
      body.append(el("tr", {}, [el("td", { className: "empty", colspan: String(columns.length), text: empty || "None." })]));
    }
    for (const item of items) {
      body.append(el("tr", {}, columns.map((c) => {
        const v = c.value(item);
        const td = el("td", c.num ? { className: "num" } : {});
        if (v instanceof Node) td.append(v);
        else td.textContent = v;
        return td;
      })));
    }
    t.append(body);
  }

  function status(msg) {
    $("status").textContent = msg || "";
  }

  function showError(err) {
    const box = $("error");
    if (!err) {
      box.textContent = "";
      box.hidden = true;
      return;
    }
    box.textContent = err.message || String(err);
    box.hidden = false;
    if (err.status === 401 && current) {
      // The key stopped working (rotated, deleted): back to the login.
      logout(err.message);
    }
  }

  function list(s) {
    return s.split(",").map((x) => x.trim()).filter((x) => x !== "");
  }

  // run calls fn, showing its error; the button is disabled meanwhile.
  async function run(button, fn) {
    if (button) button.disabled = true;
    showError(null);
    try {
      await fn();
    } catch (e) {
      showError(e);
    } finally {
      if (button) button.disabled = false;
    }
  }

  // --- pages -----------------------------------------------------------------

  const pages = {
    async models() {
      const data = await api("GET", "/model/info");
      const rows = (data && data.data) || [];
      table($("models-table"), [
        { label: "Model name", value: (m) => text(m.model_name) },
        { label: "Provider model", value: (m) => text(m.litellm_params && m.litellm_params.model) },
        { label: "API base", value: (m) => text(m.litellm_params && m.litellm_params.api_base) },
        { label: "Mode", value: (m) => text(m.model_info && m.model_info.mode) },
        { label: "Input $/1M", num: true, value: (m) => perMillion(m.model_info && m.model_info.input_cost_per_token) },
        { label: "Output $/1M", num: true, value: (m) => perMillion(m.model_info && m.model_info.output_cost_per_token) },
        { label: "ID", value: (m) => text(m.model_info && m.model_info.id) },
      ], rows, "No models.");
      status(rows.length + " deployment(s)");
    },

    async keys() {
      const data = await api("GET", "/key/list?return_full_object=true&size=" + PAGE_SIZE + "&page=" + keysPage);
      const rows = (data && data.keys) || [];
      table($("keys-table"), [
        { label: "Alias", value: (k) => text(k.key_alias) },
        { label: "Key", value: (k) => text(k.key_name) },
        { label: "Spend", num: true, value: (k) => money(k.spend) },
        { label: "Max budget", num: true, value: (k) => money(k.max_budget) },
        { label: "Models", value: (k) => (k.models && k.models.length ? text(k.models) : "all") },
        { label: "Team", value: (k) => text(k.team_id) },
        { label: "Expires", value: (k) => date(k.expires) },
        { label: "Blocked", value: (k) => el("span", { className: k.blocked ? "yes" : "", text: k.blocked ? "yes" : "no" }) },
        { label: "", value: keyActions },
      ], rows, "No keys.");
      const pagesN = (data && data.total_pages) || 1;
      $("keys-page").textContent = "page " + keysPage + " of " + pagesN + " (" + ((data && data.total_count) || 0) + " keys)";
      $("keys-prev").disabled = keysPage <= 1;
      $("keys-next").disabled = keysPage >= pagesN;
      status("");
    },

    async teams() {
      const data = await api("GET", "/team/list");
      const rows = Array.isArray(data) ? data : (data && data.teams) || [];
      table($("teams-table"), [
        { label: "Alias", value: (t) => text(t.team_alias) },
        { label: "Team ID", value: (t) => text(t.team_id) },
        { label: "Spend", num: true, value: (t) => money(t.spend) },
        { label: "Max budget", num: true, value: (t) => money(t.max_budget) },
        { label: "Models", value: (t) => (t.models && t.models.length ? text(t.models) : "all") },
        { label: "Members", num: true, value: (t) => String((t.members_with_roles || []).length) },
        { label: "Blocked", value: (t) => el("span", { className: t.blocked ? "yes" : "", text: t.blocked ? "yes" : "no" }) },
      ], rows, "No teams.");
      status("");
    },

    async spend() {
      const [byKey, byModel, logs] = await Promise.all([
        api("GET", "/global/spend/keys?limit=100"),
        api("GET", "/global/spend/models?limit=100"),
        api("GET", "/spend/logs"),
      ]);
      table($("spend-keys-table"), [
        { label: "Alias", value: (r) => text(r.key_alias) },
        { label: "Key", value: (r) => text(r.key_name || shortToken(r.api_key)) },
        { label: "Spend", num: true, value: (r) => money(r.total_spend) },
      ], byKey || [], "No spend.");
      table($("spend-models-table"), [
        { label: "Model", value: (r) => text(r.model) },
        { label: "Spend", num: true, value: (r) => money(r.total_spend) },
      ], byModel || [], "No spend.");
      const rows = (Array.isArray(logs) ? logs : []).slice();
      rows.sort((a, b) => String(b.startTime).localeCompare(String(a.startTime)));
      $("spend-logs-count").textContent = rows.length > MAX_LOG_ROWS
        ? "(latest " + MAX_LOG_ROWS + " of " + rows.length + ")" : "(" + rows.length + ")";
      table($("spend-logs-table"), [
        { label: "Time", value: (l) => date(l.startTime) },
        { label: "Model", value: (l) => text(l.model_group || l.model) },
        { label: "Key", value: (l) => shortToken(l.api_key) },
        { label: "Type", value: (l) => text(l.call_type) },
        { label: "Tokens", num: true, value: (l) => text(l.total_tokens) },
        { label: "Spend", num: true, value: (l) => money(l.spend) },
        { label: "Status", value: (l) => text(l.status) },
        { label: "Request ID", value: (l) => text(l.request_id) },
      ], rows.slice(0, MAX_LOG_ROWS), "No requests logged.");
      status("");
    },

    async health() {
      try {
        const r = await api("GET", "/health/readiness");
        $("readiness").textContent = "Readiness: " + text(r && r.status) + (r && r.llmgate_config_version ? " (config " + r.llmgate_config_version + ")" : "");
      } catch (e) {
        $("readiness").textContent = "Readiness: " + e.message;
      }
      status("");
    },
  };

  function perMillion(v) {
    if (v === null || v === undefined) return "—";
    const n = Number(v) * 1e6;
    return Number.isFinite(n) ? "$" + Number(n.toPrecision(6)) : "—";
  }

  // shortToken shows a hashed token's first and last characters only.
  function shortToken(t) {
    if (!t) return "—";
    const s = String(t);
    return s.length > 14 ? s.slice(0, 6) + "…" + s.slice(-4) : s;
  }

  function keyActions(k) {
    const block = el("button", { type: "button", text: k.blocked ? "Unblock" : "Block" });
    block.addEventListener("click", () => run(block, async () => {
      await api("POST", k.blocked ? "/key/unblock" : "/key/block", { key: k.token });
      await pages.keys();
      status((k.blocked ? "Unblocked " : "Blocked ") + keyLabel(k));
    }));
    const regen = el("button", { type: "button", text: "Regenerate" });
    regen.addEventListener("click", () => run(regen, async () => {
      if (!window.confirm("Regenerate " + keyLabel(k) + "? The old key stops working at once.")) return;
      const r = await api("POST", "/key/regenerate", { key: k.token });
      showNewKey(r && r.key);
      await pages.keys();
    }));
    const del = el("button", { type: "button", className: "danger", text: "Delete" });
    del.addEventListener("click", () => run(del, async () => {
      if (!window.confirm("Delete " + keyLabel(k) + "? This cannot be undone.")) return;
      await api("POST", "/key/delete", { keys: [k.token] });
      await pages.keys();
      status("Deleted " + keyLabel(k));
    }));
    return el("span", {}, [block, regen, del]);
  }

  function keyLabel(k) {
    return k.key_alias ? "key " + k.key_alias : "key " + text(k.key_name);
  }

  function showNewKey(key) {
    $("new-key-value").textContent = key || "";
    $("new-key").hidden = !key;
  }

  async function generateKey(ev) {
    ev.preventDefault();
    const button = ev.submitter || $("key-form").querySelector("button");
    await run(button, async () => {
      const req = {};
      const alias = $("key-alias").value.trim();
      if (alias) req.key_alias = alias;
      const models = list($("key-models").value);
      if (models.length) req.models = models;
      const budget = $("key-budget").value.trim();
      if (budget !== "") req.max_budget = Number(budget);
      const duration = $("key-duration").value.trim();
      if (duration) req.duration = duration;
      const r = await api("POST", "/key/generate", req);
      $("key-form").reset();
      showNewKey(r && r.key);
      keysPage = 1;
      await pages.keys();
      status("Generated " + (alias ? "key " + alias : "a key"));
    });
  }

  async function createTeam(ev) {
    ev.preventDefault();
    const button = ev.submitter || $("team-form").querySelector("button");
    await run(button, async () => {
      const req = { team_alias: $("team-alias").value.trim() };
      const models = list($("team-models").value);
      if (models.length) req.models = models;
      const budget = $("team-budget").value.trim();
      if (budget !== "") req.max_budget = Number(budget);
      await api("POST", "/team/new", req);
      $("team-form").reset();
      await pages.teams();
      status("Created team " + req.team_alias);
    });
  }

  async function runHealth() {
    const button = $("health-run");
    status("Checking every model…");
    await run(button, async () => {
      const r = await api("GET", "/health");
      const rows = [];
      for (const e of (r && r.healthy_endpoints) || []) rows.push({ ok: true, e: e });
      for (const e of (r && r.unhealthy_endpoints) || []) rows.push({ ok: false, e: e });
      $("health-summary").textContent = text(r && r.healthy_count) + " healthy, " + text(r && r.unhealthy_count) + " unhealthy";
      table($("health-table"), [
        { label: "Model name", value: (x) => text(x.e.model_name) },
        { label: "Provider model", value: (x) => text(x.e.model) },
        { label: "ID", value: (x) => text(x.e.model_id) },
        { label: "State", value: (x) => el("span", { className: x.ok ? "healthy" : "yes", text: x.ok ? "healthy" : "unhealthy" }) },
        { label: "Error", value: (x) => text(x.e.error) },
      ], rows, "No deployments.");
    });
    status("");
  }

  // --- navigation and login --------------------------------------------------

  function show(page) {
    current = page;
    for (const s of document.querySelectorAll("section.page")) s.hidden = s.id !== "page-" + page;
    for (const b of document.querySelectorAll("nav button[data-page]")) b.classList.toggle("current", b.dataset.page === page);
    if (page !== "keys") showNewKey("");
    status("Loading…");
    return run(null, pages[page]);
  }

  function loggedIn() {
    $("login").hidden = true;
    $("nav").hidden = false;
    return show("models");
  }

  function logout(why) {
    sessionStorage.removeItem(KEY);
    current = "";
    showNewKey("");
    for (const s of document.querySelectorAll("section.page")) s.hidden = true;
    $("nav").hidden = true;
    $("login").hidden = false;
    $("login-key").value = "";
    status(why ? "" : "Logged out");
  }

  async function login(ev) {
    ev.preventDefault();
    const input = $("login-key");
    const key = input.value.trim();
    if (!key) return;
    const button = $("login-form").querySelector("button");
    await run(button, async () => {
      // An admin-only route: a key the management API refuses shows its error.
      await api("GET", "/key/list?size=1", undefined, key);
      sessionStorage.setItem(KEY, key);
      input.value = "";
      await loggedIn();
    });
  }

  function start() {
    $("login-form").addEventListener("submit", login);
    $("key-form").addEventListener("submit", generateKey);
    $("team-form").addEventListener("submit", createTeam);
    $("logout").addEventListener("click", () => {
      showError(null);
      logout();
    });
    for (const b of document.querySelectorAll("button[data-page]")) {
      b.addEventListener("click", () => show(b.dataset.page));
    }
    $("new-key-done").addEventListener("click", () => showNewKey(""));
    $("keys-prev").addEventListener("click", () => {
      keysPage = Math.max(1, keysPage - 1);
      run($("keys-prev"), pages.keys);
    });
    $("keys-next").addEventListener("click", () => {
      keysPage += 1;
      run($("keys-next"), pages.keys);
    });
    $("health-run").addEventListener("click", runHealth);
    if (sessionStorage.getItem(KEY)) loggedIn();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
