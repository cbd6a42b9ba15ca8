// The admin UI's script in a DOM (jsdom) against a real gateway behind Envoy
// (D152). Run by e2e/ui_test.go: LLMGATE_URL is Envoy's address,
// LLMGATE_MASTER the master key. jsdom loads /ui/ and its script and
// stylesheet from the gateway; jsdom has no fetch, so the window's fetch is
// Node's own, given the page's URL to resolve paths against and recording
// every request (the key must travel only in the Authorization header).
import { test } from "node:test";
import assert from "node:assert/strict";
import { JSDOM } from "jsdom";

const base = process.env.LLMGATE_URL;
const master = process.env.LLMGATE_MASTER;
assert.ok(base && master, "LLMGATE_URL and LLMGATE_MASTER must be set");

const sent = [];

async function openUI() {
  const dom = await JSDOM.fromURL(base + "/ui/", {
    runScripts: "dangerously",
    resources: "usable",
    pretendToBeVisual: true,
    beforeParse(window) {
      window.fetch = (path, init) => {
        const url = new URL(path, window.location.href);
        sent.push({ url: url.href, method: init.method, auth: init.headers.Authorization, body: init.body || "" });
        return fetch(url, init);
      };
      window.confirm = () => true;
    },
  });
  await new Promise((resolve) => {
    if (dom.window.document.readyState === "complete") resolve();
    else dom.window.addEventListener("load", resolve);
  });
  return dom.window;
}

async function until(what, f) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function adminGET(path) {
  const r = await fetch(base + path, { headers: { Authorization: "Bearer " + master } });
  return { status: r.status, body: await r.json() };
}

function rows(w, id) {
  return [...w.document.querySelectorAll("#" + id + " tbody tr")].map((tr) =>
    [...tr.querySelectorAll("td")].map((td) => td.textContent));
}

function submit(w, formID) {
  w.document.getElementById(formID).requestSubmit();
}

function click(w, selector) {
  const b = w.document.querySelector(selector);
  assert.ok(b, "no " + selector);
  b.click();
}

test("admin UI against the gateway", async (t) => {
  const w = await openUI();
  const $ = (id) => w.document.getElementById(id);
  assert.equal($("login").hidden, false, "the login shows first");
  assert.equal($("nav").hidden, true);

  await t.test("a wrong key shows the API's error", async () => {
    $("login-key").value = "sk-not-a-key-1234";
    submit(w, "login-form");
    await until("the login error", () => !$("error").hidden && $("error").textContent);
    assert.match($("error").textContent, /Authentication Error/);
    assert.equal($("login").hidden, false);
    assert.equal($("nav").hidden, true);
    assert.equal(w.sessionStorage.length, 0, "nothing kept for a refused key");
  });

  await t.test("the master key logs in and lists the models", async () => {
    $("login-key").value = master;
    submit(w, "login-form");
    await until("the models table", () => rows(w, "models-table").length > 0);
    assert.equal($("error").hidden, true, $("error").textContent);
    assert.equal($("login").hidden, true);
    assert.equal($("login-key").value, "", "the input is cleared");
    assert.equal(w.sessionStorage.getItem("llmgate.adminKey"), master);
    const models = rows(w, "models-table");
    assert.ok(models.some((r) => r[0] === "gpt-x" && r[1] === "openai/gpt-4o"), JSON.stringify(models));
    assert.ok(!w.document.body.textContent.includes("sk-provider"), "no provider key on the page");
  });

  const alias = 'ui key <img src=x onerror="window.pwned=1">';
  let newKey = "";
  await t.test("generate a key: shown once, listed", async () => {
    click(w, 'nav button[data-page="keys"]');
    await until("the keys table", () => w.document.querySelector("#keys-table tbody"));
    $("key-alias").value = alias;
    $("key-models").value = "gpt-x, other";
    $("key-budget").value = "5";
    $("key-duration").value = "30d";
    submit(w, "key-form");
    await until("the new key", () => !$("new-key").hidden && $("new-key-value").textContent);
    newKey = $("new-key-value").textContent;
    assert.match(newKey, /^sk-[A-Za-z0-9_-]{16,}$/);
    const row = await until("the key's row", () => rows(w, "keys-table").find((r) => r[0] === alias));
    assert.equal(row[1], "sk-..." + newKey.slice(-4));
    assert.equal(row[2], "$0.00");
    assert.equal(row[3], "$5.00");
    assert.equal(row[4], "gpt-x, other");
    assert.notEqual(row[6], "—", "30d sets an expiry");
    assert.equal(row[7], "no");
    assert.equal(w.document.querySelector("#keys-table img"), null, "the alias is text, not markup");
    assert.equal(w.pwned, undefined);
    const info = await adminGET("/key/info?key=" + encodeURIComponent(newKey));
    assert.equal(info.status, 200);
    assert.equal(info.body.info.key_alias, alias);
    assert.equal(info.body.info.max_budget, 5);
  });

  function keyRow() {
    return [...w.document.querySelectorAll("#keys-table tbody tr")].find((tr) => tr.querySelector("td").textContent === alias);
  }

  await t.test("block and unblock it", async () => {
    keyRow().querySelector("button").click();
    await until("blocked", () => keyRow() && keyRow().children[7].textContent === "yes");
    assert.equal($("error").hidden, true, $("error").textContent);
    let info = await adminGET("/key/info?key=" + encodeURIComponent(newKey));
    assert.equal(info.body.info.blocked, true);
    const chat = await fetch(base + "/v1/chat/completions", {
      method: "POST",
      headers: { Authorization: "Bearer " + newKey, "Content-Type": "application/json" },
      body: JSON.stringify({ model: "gpt-x", messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(chat.status, 401, "a blocked key is refused");
    assert.equal(keyRow().querySelector("button").textContent, "Unblock");
    keyRow().querySelector("button").click();
    await until("unblocked", () => keyRow() && keyRow().children[7].textContent === "no");
    info = await adminGET("/key/info?key=" + encodeURIComponent(newKey));
    assert.equal(info.body.info.blocked, false);
  });

  await t.test("teams: create and list", async () => {
    click(w, 'nav button[data-page="teams"]');
    assert.equal($("new-key").hidden, true, "the new key is gone once the page changes");
    await until("the teams table", () => w.document.querySelector("#teams-table tbody"));
    $("team-alias").value = "ui-team";
    $("team-models").value = "gpt-x";
    $("team-budget").value = "12.5";
    submit(w, "team-form");
    const row = await until("the team's row", () => rows(w, "teams-table").find((r) => r[0] === "ui-team"));
    assert.equal(row[3], "$12.50");
    assert.equal(row[4], "gpt-x");
    assert.equal(row[6], "no");
  });

  await t.test("spend: per key, per model, logs", async () => {
    click(w, 'nav button[data-page="spend"]');
    await until("the spend tables", () => rows(w, "spend-logs-table").length > 0 && rows(w, "spend-models-table").length > 0);
    const perModel = rows(w, "spend-models-table");
    assert.ok(perModel.some((r) => r[0] === "gpt-4o" && r[1].startsWith("$") && r[1] !== "$0.00"), JSON.stringify(perModel));
    const perKey = rows(w, "spend-keys-table");
    assert.ok(perKey.some((r) => r[0] === "spender"), JSON.stringify(perKey));
    const logs = rows(w, "spend-logs-table");
    assert.ok(logs.some((r) => r[1] === "gpt-x" && r[3] === "acompletion"), JSON.stringify(logs));
  });

  await t.test("health: readiness and a check of every model", async () => {
    click(w, 'nav button[data-page="health"]');
    await until("readiness", () => $("readiness").textContent.includes("healthy"));
    click(w, "#health-run");
    await until("the health table", () => rows(w, "health-table").length > 0);
    const h = rows(w, "health-table");
    assert.ok(h.some((r) => r[0] === "gpt-x" && r[3] === "healthy"), JSON.stringify(h));
  });

  await t.test("delete the key", async () => {
    click(w, 'nav button[data-page="keys"]');
    await until("the key's row", () => keyRow());
    [...keyRow().querySelectorAll("button")].find((b) => b.textContent === "Delete").click();
    await until("the row gone", () => !keyRow() && w.document.querySelector("#keys-table tbody"));
    const info = await adminGET("/key/info?key=" + encodeURIComponent(newKey));
    assert.equal(info.status, 404);
  });

  await t.test("the key only in the Authorization header; log out forgets it", async () => {
    assert.ok(sent.length > 8, "requests were made");
    for (const r of sent) {
      assert.ok(!r.url.includes(master), "master key in a URL: " + r.url);
      assert.ok(!r.body.includes(master), "master key in a body: " + r.url);
      assert.ok(r.auth === "Bearer " + master || r.auth === "Bearer sk-not-a-key-1234", "Authorization: " + r.auth);
      assert.equal(new URL(r.url).origin, new URL(base).origin, "only the gateway is called");
    }
    click(w, "#logout");
    assert.equal(w.sessionStorage.getItem("llmgate.adminKey"), null);
    assert.equal($("login").hidden, false);
    assert.equal($("nav").hidden, true);
  });

  w.close();
});
