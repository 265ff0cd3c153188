// imgot serve: the page. Plain JS, no build step, no network beyond this server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { session: null, config: null, have: { source: false, reference: false },
                inflight: false, pending: false, sideTimer: null, version: 0 };

function api(path) { return `/api/session/${state.session}${path}`; }

function say(text, ok) {
  const box = $("message");
  box.textContent = text || "";
  box.className = ok ? "ok" : "";
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

function params() {
  const method = $("method").value;
  const wanted = state.config.methods[method] || [];
  const query = new URLSearchParams({
    method, strength: sliderValue($("strength")),
    preserve_luminance: $("preserve_luminance").checked, detail: $("detail").checked,
  });
  for (const name of wanted) query.set(name, sliderValue($(name)));
  return query.toString();
}

function showSettings() {
  const wanted = state.config.methods[$("method").value] || [];
  for (const label of document.querySelectorAll("[data-setting]")) {
    label.classList.toggle("hidden", !wanted.includes(label.dataset.setting));
  }
}

async function upload(role, file) {
  if (!file) return;
  say(`Uploading ${file.name}…`, true);
  const response = await fetch(api(`/image/${role}`), {
    method: "POST", body: file, headers: { "X-File-Name": encodeURIComponent(file.name) },
  });
  const drop = $(`drop-${role}`);
  if (!response.ok) {
    say(`${file.name}: ${await errorText(response)}`);
    return;
  }
  const info = await response.json();
  state.have[role] = true;
  const url = api(`/image/${role}/preview.jpg?v=${Date.now()}`);
  drop.querySelector("img").src = url;
  drop.querySelector(".name").textContent = `${info.name} (${info.width} × ${info.height}, ${info.dtype})`;
  drop.classList.add("loaded");
  if (role === "source") $("before").src = url;
  say("", true);
  requestPreview();
}

async function requestPreview() {
  if (!(state.have.source && state.have.reference)) return;
  if (state.inflight) { state.pending = true; return; }
  state.inflight = true;
  const query = params();
  try {
    const response = await fetch(api(`/preview.jpg?${query}`));
    if (!response.ok) { say(await errorText(response)); return; }
    const timing = response.headers.get("server-timing") || "";
    const blob = await response.blob();
    const after = $("after");
    const old = after.src;
    after.onload = () => {
      if (old.startsWith("blob:")) URL.revokeObjectURL(old);
      state.version += 1;
      after.dataset.version = String(state.version);
      after.dataset.query = query;
    };
    after.src = URL.createObjectURL(blob);
    $("split").classList.remove("empty");
    const ms = /dur=([\d.]+)/.exec(timing);
    $("timing").textContent = ms ? `preview: ${ms[1]} ms server time` : "";
    say("", true);
    scheduleSide(query);
  } catch (error) {
    say(`the server did not answer (${error})`);
  } finally {
    state.inflight = false;
    if (state.pending) { state.pending = false; requestPreview(); }
  }
}

function scheduleSide(query) {
  clearTimeout(state.sideTimer);
  state.sideTimer = setTimeout(() => updateSide(query), 250);
}

async function updateSide(query) {
  const fmt = (x, digits) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
  const metrics = await fetch(api(`/metrics?${query}`));
  if (metrics.ok) {
    const m = await metrics.json();
    $("m-distance").textContent = `${fmt(m.color_distance, 2)} (was ${fmt(m.color_distance_before, 2)})`;
    $("m-structure").textContent = fmt(m.structure, 3);
    $("m-grain").textContent = `${(100 * m.grain).toFixed(1)} %`;
  }
  const palettes = await fetch(api(`/palettes?${query}`));
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
  const plan = await fetch(api(`/plan.png?${query}`));
  if (plan.ok) {
    $("plan").src = URL.createObjectURL(await plan.blob());
    $("plan").classList.remove("hidden");
    $("plan-note").textContent = "";
  } else {
    $("plan").classList.add("hidden");
    $("plan-note").textContent = await errorText(plan);
  }
  const command = await fetch(api(`/command?${query}`));
  if (command.ok) $("command").textContent = (await command.json()).command || "";
  for (const [id, path] of [["dl-result", "result"], ["dl-lut", "lut"], ["dl-transfer", "transfer"]]) {
    $(id).href = api(`/download/${path}?${query}`);
  }
}

async function download(event) {
  // Fetched first, so that a method without a LUT gets a message instead of a file of JSON.
  event.preventDefault();
  const link = event.currentTarget;
  if (!link.href) return;
  $("dl-message").textContent = "Working at full resolution…";
  const response = await fetch(link.href);
  if (!response.ok) { $("dl-message").textContent = await errorText(response); return; }
  const disposition = response.headers.get("content-disposition") || "";
  const name = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const save = document.createElement("a");
  save.href = URL.createObjectURL(await response.blob());
  save.download = name ? decodeURIComponent(name[1]) : "imgot";
  document.body.appendChild(save);
  save.click();
  save.remove();
  $("dl-message").textContent = "";
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
  state.config = await (await fetch("/api/config")).json();
  const defaults = state.config.defaults;
  for (const name of Object.keys(state.config.methods)) {
    $("method").appendChild(new Option(name, name, false, name === defaults.method));
  }
  for (const name of ["strength", "n_clusters", "reg", "reg_m", "n_iter"]) {
    const input = $(name);
    setSlider(input, defaults[name]);
    input.addEventListener("input", () => {
      input.parentElement.querySelector("output").textContent = sliderValue(input);
      requestPreview();
    });
  }
  $("preserve_luminance").checked = defaults.preserve_luminance;
  $("detail").checked = defaults.detail;
  for (const id of ["method", "preserve_luminance", "detail"]) {
    $(id).addEventListener("change", () => { showSettings(); requestPreview(); });
  }
  showSettings();
  $("split-at").addEventListener("input", (e) => {
    $("after").style.clipPath = `inset(0 0 0 ${e.target.value}%)`;
    $("divider").style.left = `${e.target.value}%`;
  });
  for (const id of ["dl-result", "dl-lut", "dl-transfer"]) $(id).addEventListener("click", download);
  $("copy").addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText($("command").textContent));
  wireDrop("source");
  wireDrop("reference");
  $("split").classList.add("empty");
  const response = await fetch("/api/session", { method: "POST" });
  if (!response.ok) { say(await errorText(response)); return; }
  state.session = (await response.json()).session;
  document.body.dataset.ready = "1";
}

start().catch((error) => say(`cannot start: ${error}`));
