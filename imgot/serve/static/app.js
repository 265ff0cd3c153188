// imgot serve: the page. Plain JS, no build step, no network beyond this server.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN = document.querySelector('meta[name="imgot-token"]').content;
const SIDE_IDLE_MS = 450;  // side panels wait until the sliders have been still this long
const state = { session: null, config: null, have: { source: false, reference: false },
                inflight: false, pending: false, sideTimer: null, sideAbort: null, version: 0,
                inputs: 0, shownInput: 0, marks: [], felt: [], server: [] };

function api(path) { return `/api/session/${state.session}${path}`; }

// Every API call carries the token as a header: the server refuses a cookie alone.
function call(path, options = {}) {
  const headers = { ...(options.headers || {}), "X-Imgot-Token": TOKEN };
  return fetch(path, { ...options, headers, credentials: "same-origin" });
}

function say(text, ok) {
  const box = $("message");
  box.textContent = text || "";
  box.className = ok ? "ok" : "";
}

function busy(text) {
  $("busy").textContent = text || "";
  $("busy").classList.toggle("hidden", !text);
}

async function errorText(response) {
  try { return (await response.json()).error || response.statusText; }
  catch (e) { return `${response.status} ${response.statusText}`; }
}

function sliderValue(input) {
  const v = Number(input.value);
  return input.dataset.log ? Number((10 ** v).toPrecision(3)) : v;
}

function setSlider(input, value) {
  input.value = input.dataset.log ? Math.log10(value) : value;
  input.parentElement.querySelector("output").textContent = sliderValue(input);
}

// The settings on screen, as a query string: what the preview, the command and the downloads use.
function params() {
  const method = $("method").value;
  const wanted = state.config.methods[method] || [];
  const query = new URLSearchParams({
    method, strength: sliderValue($("strength")),
    preserve_luminance: $("preserve_luminance").checked, preserve_detail: $("preserve_detail").checked,
    saturation: sliderValue($("saturation")), protect_skin: sliderValue($("protect_skin")),
    neutralize: $("neutralize").value,
  });
  for (const name of wanted) query.set(name, sliderValue($(name)));
  return query.toString();
}

function ready() { return state.have.source && state.have.reference; }

function showSettings() {
  const wanted = state.config.methods[$("method").value] || [];
  for (const label of document.querySelectorAll("[data-setting]")) {
    label.classList.toggle("hidden", !wanted.includes(label.dataset.setting));
  }
}

// Download links always carry the settings on screen; they are live only once both images are in.
function updateLinks() {
  const query = ready() ? params() : null;
  for (const [id, path] of [["dl-result", "result"], ["dl-lut", "lut"], ["dl-transfer", "transfer"]]) {
    const link = $(id);
    link.classList.toggle("disabled", !query);
    if (query) link.href = api(`/download/${path}?${query}`);
    else link.removeAttribute("href");
  }
}

async function upload(role, file) {
  if (!file) return;
  busy(`Uploading ${file.name}…`);
  say("", true);
  let response;
  try {
    response = await call(api(`/image/${role}`), {
      method: "POST", body: file, headers: { "X-File-Name": encodeURIComponent(file.name) },
    });
  } finally { busy(""); }
  const drop = $(`drop-${role}`);
  if (!response.ok) {
    say(`${file.name}: ${await errorText(response)}`);
    return;
  }
  const info = await response.json();
  state.have[role] = true;
  const picture = await call(api(`/image/${role}/preview.jpg`));
  const url = URL.createObjectURL(await picture.blob());
  drop.querySelector("img").src = url;
  drop.querySelector(".name").textContent = `${info.name} (${info.width} × ${info.height}, ${info.dtype})`;
  drop.classList.add("loaded");
  if (role === "source") $("before").src = url;
  changed();
}

// One settings change (a slider input event, a checkbox, a new image).
function changed() {
  state.inputs += 1;
  state.marks.push({ input: state.inputs, at: performance.now() });
  if (state.marks.length > 200) state.marks.shift();
  clearTimeout(state.sideTimer);
  if (state.sideAbort) state.sideAbort.abort();
  $("command").classList.add("stale");
  updateLinks();
  requestPreview();
}

// The felt latency of every input the loaded preview answers: input event to image load.
function recordFelt(input) {
  const now = performance.now();
  while (state.marks.length && state.marks[0].input <= input) {
    state.felt.push(now - state.marks.shift().at);
  }
  if (state.felt.length > 1000) state.felt.splice(0, state.felt.length - 1000);
}

async function requestPreview() {
  if (!ready()) return;
  if (state.inflight) { state.pending = true; return; }
  state.inflight = true;
  state.pending = false;
  const query = params();
  const input = state.inputs;
  const slow = setTimeout(() => busy("Fitting the reference…"), 300);
  try {
    const response = await call(api(`/preview.jpg?${query}`));
    if (!response.ok) { say(await errorText(response)); return; }
    const timing = response.headers.get("server-timing") || "";
    const blob = await response.blob();
    await show(blob, query, input);
    const ms = /dur=([\d.]+)/.exec(timing);
    if (ms) { state.server.push(Number(ms[1])); if (state.server.length > 1000) state.server.shift(); }
    $("timing").textContent = ms ? `preview: ${ms[1]} ms server time` : "";
    say("", true);
    updateCommand(query);
    if (!state.pending) scheduleSide(query);
  } catch (error) {
    say(`the server did not answer (${error})`);
  } finally {
    clearTimeout(slow);
    busy("");
    state.inflight = false;
    if (state.pending) requestPreview();
  }
}

function show(blob, query, input) {
  return new Promise((resolve) => {
    const after = $("after");
    const old = after.src;
    after.onload = () => {
      if (old.startsWith("blob:")) URL.revokeObjectURL(old);
      recordFelt(input);
      state.version += 1;
      state.shownInput = input;
      after.dataset.version = String(state.version);
      after.dataset.query = query;
      $("split").classList.remove("empty");
      resolve();
    };
    after.onerror = () => resolve();
    after.src = URL.createObjectURL(blob);
  });
}

// The command of the preview shown (cheap: no computation on the server).
async function updateCommand(query) {
  const response = await call(api(`/command?${query}`));
  if (!response.ok || query !== $("after").dataset.query) return;
  $("command").textContent = (await response.json()).command || "";
  $("command").dataset.query = query;
  if (query === params()) $("command").classList.remove("stale");
}

function scheduleSide(query) {
  clearTimeout(state.sideTimer);
  state.sideTimer = setTimeout(() => updateSide(query).catch(() => {}), SIDE_IDLE_MS);
}

// Metrics, palettes and plan, once the sliders are still; dropped when a newer setting comes.
async function updateSide(query) {
  const abort = new AbortController();
  state.sideAbort = abort;
  const get = (path) => call(api(path), { signal: abort.signal });
  const current = () => !abort.signal.aborted && query === $("after").dataset.query;
  const fmt = (x, digits) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
  const metrics = await get(`/metrics?${query}`);
  if (!current()) return;
  if (metrics.ok) {
    const m = await metrics.json();
    $("m-distance").textContent = `${fmt(m.color_distance, 2)} (was ${fmt(m.color_distance_before, 2)})`;
    $("m-structure").textContent = fmt(m.structure, 3);
    $("m-grain").textContent = `${(100 * m.grain).toFixed(1)} %`;
  }
  const palettes = await get(`/palettes?${query}`);
  if (!current()) return;
  if (palettes.ok) {
    const p = await palettes.json();
    for (const role of ["source", "reference"]) {
      const box = $(`palette-${role}`);
      box.replaceChildren();
      for (const swatch of p[role] || []) {
        const span = document.createElement("span");
        span.style.background = swatch.hex;
        span.style.width = `${100 * swatch.weight}%`;
        span.title = `${swatch.hex} ${(100 * swatch.weight).toFixed(1)} %`;
        box.appendChild(span);
      }
    }
  }
  const plan = await get(`/plan.png?${query}`);
  if (!current()) return;
  if (plan.ok) {
    const old = $("plan").src;
    $("plan").src = URL.createObjectURL(await plan.blob());
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
    $("plan").classList.remove("hidden");
    $("plan-note").textContent = "";
  } else if (plan.status !== 409) {
    $("plan").classList.add("hidden");
    $("plan-note").textContent = await errorText(plan);
  }
}

async function download(event) {
  // Fetched first, so that a method without a LUT gets a message instead of a file of JSON.
  event.preventDefault();
  if (!ready()) return;
  const kind = event.currentTarget.dataset.kind;
  const query = params();  // the settings on screen at the click, whatever is still loading
  $("dl-message").textContent = "Working at full resolution…";
  $("dl-message").className = "ok";
  const response = await call(api(`/download/${kind}?${query}`));
  if (!response.ok) {
    $("dl-message").textContent = await errorText(response);
    $("dl-message").className = "";
    return;
  }
  const disposition = response.headers.get("content-disposition") || "";
  const name = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const save = document.createElement("a");
  save.href = URL.createObjectURL(await response.blob());
  save.download = name ? decodeURIComponent(name[1]) : "imgot";
  document.body.appendChild(save);
  save.click();
  save.remove();
  $("dl-message").textContent = "";
  document.body.dataset.downloaded = query;
}

function wireDrop(role) {
  const drop = $(`drop-${role}`);
  $(`file-${role}`).addEventListener("change", (e) => upload(role, e.target.files[0]));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    upload(role, e.dataTransfer.files[0]);
  });
}

async function start() {
  state.config = await (await call("/api/config")).json();
  const defaults = state.config.defaults;
  for (const name of Object.keys(state.config.methods)) {
    $("method").appendChild(new Option(name, name, false, name === defaults.method));
  }
  for (const [name, high] of Object.entries(state.config.max)) $(name).max = high;
  for (const name of ["strength", "n_clusters", "reg", "reg_m", "n_iter", "saturation", "protect_skin"]) {
    const input = $(name);
    setSlider(input, defaults[name]);
    input.addEventListener("input", () => {
      input.parentElement.querySelector("output").textContent = sliderValue(input);
      changed();
    });
  }
  $("preserve_luminance").checked = defaults.preserve_luminance;
  $("preserve_detail").checked = defaults.preserve_detail;
  $("neutralize").value = defaults.neutralize || "";
  for (const id of ["method", "preserve_luminance", "preserve_detail", "neutralize"]) {
    $(id).addEventListener("change", () => { showSettings(); changed(); });
  }
  showSettings();
  updateLinks();
  $("split-at").addEventListener("input", (e) => {
    $("after").style.clipPath = `inset(0 0 0 ${e.target.value}%)`;
    $("divider").style.left = `${e.target.value}%`;
  });
  for (const id of ["dl-result", "dl-lut", "dl-transfer"]) $(id).addEventListener("click", download);
  $("copy").addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText($("command").textContent));
  wireDrop("source");
  wireDrop("reference");
  $("split").classList.add("empty");
  const response = await call("/api/session", { method: "POST" });
  if (!response.ok) { say(await errorText(response)); return; }
  state.session = (await response.json()).session;
  window.imgotFelt = state.felt;  // read by benchmarks/serve_latency.py
  window.imgotServer = state.server;
  document.body.dataset.ready = "1";
}

start().catch((error) => say(`cannot start: ${error}`));
