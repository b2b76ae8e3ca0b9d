// The web view: reads the cluster through the RAPI with the logged-in
// user's credentials, follows the job queue live, and runs the common
// instance actions as RAPI jobs.  Everything from the cluster is put in
// the page as text (never as HTML), so a name cannot inject markup.

const AUTH_KEY = "ganeti-ui-authorization";
const USER_KEY = "ganeti-ui-user";
const JOBS_SHOWN = 25;
const RECONNECT_SECONDS = 2;

const state = {
  auth: sessionStorage.getItem(AUTH_KEY),
  mayWrite: false,
  jobs: new Map(),      // id -> job (as /2/jobs?bulk=1 gives it) + log
  mine: new Set(),      // ids of the jobs this page submitted
  nodes: [],
  instances: [],
  live: null,           // AbortController of the event stream
  refreshTimer: null,
  console: null,        // {close()} of the open console
  confirming: null,     // "instance/verb" of the action asking to confirm
  target: null,         // the node a move asking to confirm goes to
  confirmTimer: null,
  messageFrom: null,    // who showed the message (see showMessage)
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// One RAPI call.  credentials: "omit" keeps the browser from answering a
// 401 with its own password dialog; the Authorization header is ours.
async function api(method, path, body, signal) {
  const headers = {Accept: "application/json"};
  if (state.auth) headers.Authorization = state.auth;
  const init = {method, headers, credentials: "omit", signal};
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let value = null;
  try { value = text ? JSON.parse(text) : null; } catch (e) { value = text; }
  if (!response.ok) {
    const explain = value && (value.explain || value.message);
    throw new ApiError(response.status, explain || response.statusText);
  }
  return value;
}

function basicAuthorization(user, password) {
  const bytes = new TextEncoder().encode(user + ":" + password);
  return "Basic " + btoa(String.fromCharCode(...bytes));
}

// The message line says one thing at a time; "from" names who said it,
// so a reload of the lists that works again takes back its own complaint
// and not an action's refusal shown a moment before.
function showMessage(text, from = null) {
  $("message").textContent = text || "";
  $("message").hidden = !text;
  state.messageFrom = text ? from : null;
}

function clearMessage(from) {
  if (state.messageFrom === from) showMessage("");
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined)
      node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function statusCell(status) {
  return el("td", {class: "status status-" + status}, status);
}

function seconds(timestamp) {
  // Ganeti's job times are [seconds, microseconds].
  if (Array.isArray(timestamp)) return timestamp[0] + timestamp[1] / 1e6;
  return timestamp;
}

function clock(timestamp) {
  const s = seconds(timestamp);
  return s ? new Date(s * 1000).toLocaleTimeString() : "";
}

function mib(value) {
  if (value === null || value === undefined) return "?";
  return value >= 10240 ? (value / 1024).toFixed(1) + " GiB" : value + " MiB";
}

// --- login ---------------------------------------------------------------

async function login(event) {
  event.preventDefault();
  const error = $("login-error");
  error.hidden = true;
  state.auth = basicAuthorization($("username").value, $("password").value);
  try {
    await start();
  } catch (e) {
    logout();
    error.textContent = e.code === 401 ? "Wrong user name or password."
      : e.code === 403 ? "This user may not read the cluster."
      : "Login failed: " + e.message;
    error.hidden = false;
  }
}

function logout() {
  sessionStorage.removeItem(AUTH_KEY);
  sessionStorage.removeItem(USER_KEY);
  state.auth = null;
  if (state.live) state.live.abort();
  state.jobs.clear();
  state.mine.clear();
  closeConsole();
  $("app").hidden = true;
  $("session").hidden = true;
  $("login").hidden = false;
  $("password").value = "";
  showMessage("");
}

// Verifies the credentials (whoami needs read access), then shows the page.
async function start() {
  const me = await api("GET", "/2/whoami");
  sessionStorage.setItem(AUTH_KEY, state.auth);
  sessionStorage.setItem(USER_KEY, me.user);
  state.mayWrite = me.access.includes("write");
  document.body.classList.toggle("read-only", !state.mayWrite);
  $("whoami").textContent = me.user + (state.mayWrite ? "" : " (read-only)");
  $("login").hidden = true;
  $("session").hidden = false;
  $("app").hidden = false;
  await refresh();
  follow();
}

// --- the lists -----------------------------------------------------------

async function refresh() {
  try {
    const [info, nodes, instances, jobs] = await Promise.all([
      api("GET", "/2/info"), api("GET", "/2/nodes?bulk=1"),
      api("GET", "/2/instances?bulk=1"), api("GET", "/2/jobs?bulk=1")]);
    renderCluster(info);
    state.nodes = nodes;
    renderNodes(nodes);
    state.instances = instances;
    renderInstances();
    mergeJobs(jobs);
    renderJobs();
    clearMessage("refresh");
  } catch (e) {
    if (e.code === 401) return logout();
    showMessage("Cannot read the cluster: " + e.message, "refresh");
  }
}

// Several job events in a row cause one reload of the lists.
function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, 300);
}

function renderCluster(info) {
  $("cluster-name").textContent = info.name;
  document.title = "Ganeti " + info.name;
  const rows = [["Master", info.master],
                ["Version", info.software_version],
                ["Hypervisors", (info.enabled_hypervisors || []).join(", ")],
                ["Disk templates", (info.enabled_disk_templates || []).join(", ")]];
  $("cluster").replaceChildren(...rows.flatMap(
    ([name, value]) => [el("dt", {}, name), el("dd", {}, value ?? "")]));
}

const NODE_ROLES = {M: "master", C: "candidate", R: "regular", D: "drained",
                    O: "offline"};

function renderNodes(nodes) {
  $("nodes").tBodies[0].replaceChildren(...nodes.map((n) => el("tr",
    {"data-name": n.name},
    el("td", {}, n.name), el("td", {}, NODE_ROLES[n.role] || n.role),
    el("td", {}, n.pip), el("td", {}, mib(n.mfree) + " / " + mib(n.mtotal)),
    el("td", {}, mib(n.dfree) + " / " + mib(n.dtotal)),
    el("td", {}, n.pinst_cnt + " + " + n.sinst_cnt))));
}

// Templates whose disks the secondary node mirrors: they move there.
const INTERNALLY_MIRRORED = new Set(["drbd"]);
// Templates whose disks any node reaches: they move to a node one picks.
const EXTERNALLY_MIRRORED = new Set(["diskless", "sharedfile", "blockdev",
                                     "rbd", "ext", "gluster"]);

function renderInstances() {
  $("instances").tBodies[0].replaceChildren(...state.instances.map((i) => {
    const row = el("tr", {"data-name": i.name},
      el("td", {}, i.name), statusCell(i.status), el("td", {}, i.pnode),
      el("td", {}, (i.snodes || []).join(", ")), el("td", {}, i.disk_template),
      el("td", {}, mib(i.beparams && i.beparams.maxmem)),
      el("td", {}, i.beparams && i.beparams.vcpus));
    if (state.mayWrite) row.append(el("td", {class: "actions"}, ...actions(i)));
    return row;
  }));
}

// The nodes an externally mirrored instance can move to.
function targetNodes(instance) {
  if (!EXTERNALLY_MIRRORED.has(instance.disk_template)) return null;
  return state.nodes.filter((n) => n.name !== instance.pnode && !n.offline
                            && n.vm_capable).map((n) => n.name);
}

function actions(instance) {
  const up = instance.admin_state === "up";
  const buttons = [];
  const add = (label, method, verb, confirm, targets = null) => {
    const key = instance.name + "/" + verb;
    const asking = state.confirming === key;
    if (asking && targets) {
      if (!targets.includes(state.target)) state.target = targets[0];
      buttons.push(el("select", {"data-target": verb, "aria-label": label + " to",
        onchange: (event) => { state.target = event.target.value; askConfirm(key); }},
        ...targets.map((name) => el("option", name === state.target
          ? {value: name, selected: ""} : {value: name}, name))));
    }
    buttons.push(el("button", {
      type: "button", "data-action": verb, class: asking ? "confirm" : "",
      onclick: () => act(instance.name, method, verb, confirm, targets),
    }, asking ? label + "?" : label));
  };
  if (!up) add("Start", "PUT", "startup", false);
  if (up) {
    add("Stop", "PUT", "shutdown", true);
    add("Reboot", "POST", "reboot", true);
    const targets = targetNodes(instance);
    if (INTERNALLY_MIRRORED.has(instance.disk_template)
        || (targets && targets.length)) {
      add("Migrate", "PUT", "migrate", true, targets);
      add("Failover", "PUT", "failover", true, targets);
    }
  }
  if (instance.oper_state) {
    buttons.push(el("button", {type: "button", "data-action": "console",
      onclick: () => openConsole(instance.name, "serial")}, "Console"));
    if (instance.network_port && instance.hvparams
        && instance.hvparams.vnc_bind_address)
      buttons.push(el("button", {type: "button", "data-action": "vnc",
        onclick: () => openConsole(instance.name, "vnc")}, "VNC"));
  }
  return buttons;
}

// Disruptive actions ask once more on the button itself for a few
// seconds (moves to a chosen node also show the choice); the question
// lives in the state, so redrawn rows keep it.
function askConfirm(key) {
  clearTimeout(state.confirmTimer);
  state.confirming = key;
  state.confirmTimer = setTimeout(() => {
    state.confirming = null;
    renderInstances();
  }, 6000);
  renderInstances();
}

async function act(name, method, verb, confirm, targets) {
  const key = name + "/" + verb;
  if (confirm && state.confirming !== key) return askConfirm(key);
  clearTimeout(state.confirmTimer);
  state.confirming = null;
  renderInstances();
  const body = targets ? {target_node: state.target} : {};
  try {
    const jobId = Number(await api(method,
      "/2/instances/" + encodeURIComponent(name) + "/" + verb, body));
    state.mine.add(jobId);
    if (!state.jobs.has(jobId))
      state.jobs.set(jobId, {id: jobId, status: "queued",
                             summary: [verb + " " + name], log: []});
    renderJobs();
    showMessage("");
  } catch (e) {
    showMessage(verb + " " + name + ": " + e.message);
  }
}

// --- jobs ----------------------------------------------------------------

function mergeJobs(jobs) {
  for (const job of jobs) {
    // Ids are keys, as numbers: the events and submissions give numbers.
    const id = Number(job.id);
    const known = state.jobs.get(id);
    state.jobs.set(id, Object.assign(known || {log: []}, job, {id}));
  }
}

function renderJobs() {
  // Its events can come before the answer that makes a job this page's.
  for (const id of state.mine) {
    const job = state.jobs.get(id);
    if (job.status === "error" && job.error === undefined) {
      job.error = "";
      readError(id);
    }
  }
  const ids = [...state.jobs.keys()].sort((a, b) => b - a).slice(0, JOBS_SHOWN);
  $("jobs").tBodies[0].replaceChildren(...ids.map((id) => {
    const job = state.jobs.get(id);
    const summary = el("td", {class: "summary"}, (job.summary || []).join(", "));
    if (job.error) summary.append(el("div", {class: "error job-error"}, job.error));
    if (state.mine.has(id) && job.log.length)
      summary.append(el("ul", {class: "log"}, ...job.log.map(
        (entry) => el("li", {}, clock(entry.timestamp) + " " + entry.message))));
    return el("tr", {"data-job": id, class: state.mine.has(id) ? "mine" : ""},
      el("td", {}, id), summary, statusCell(job.status),
      el("td", {}, clock(job.received_ts)), el("td", {}, clock(job.end_ts)));
  }));
}

function eventJob(event) {
  const id = Number(event.job_id);
  if (!state.jobs.has(id)) state.jobs.set(id, {id, log: []});
  return state.jobs.get(id);
}

// The stream sends some events again after a reconnect: an older status
// than the one shown, or a running job after its end, changes nothing.
function jobStatus(event) {
  const job = eventJob(event);
  if (job.statusTime > event.timestamp
      || (isFinal(job.status) && !isFinal(event.status))) return;
  job.status = event.status;
  job.statusTime = event.timestamp;
  if (event.summary) job.summary = event.summary;
  if (isFinal(event.status) && !job.end_ts) job.end_ts = event.timestamp;
}

// A job of this page that failed shows why: its failed opcodes' errors,
// Ganeti's [class name, [message, ...]].
async function readError(id) {
  try {
    const job = await api("GET", "/2/jobs/" + id);
    state.jobs.get(id).error = (job.opresult || [])
      .filter((result, index) => job.opstatus[index] === "error")
      .map((result) => Array.isArray(result) && Array.isArray(result[1])
           ? result[0] + ": " + result[1][0] : JSON.stringify(result))
      .join("; ");
    renderJobs();
  } catch (e) {
    // The list still shows that it failed.
  }
}

function jobLog(event) {
  const job = eventJob(event);
  if (!job.log.some((entry) => entry.serial === event.serial))
    job.log.push(event);
}

// --- live updates --------------------------------------------------------

// Parses the complete events at the start of a server-sent-events text;
// returns them and the incomplete rest, to be continued by the next chunk.
export function parseEvents(text) {
  const events = [];
  const blocks = text.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = blocks.pop();
  for (const block of blocks) {
    const event = {type: "message", data: [], id: null};
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event.type = value;
      else if (field === "data") event.data.push(value);
      else if (field === "id") event.id = value;
    }
    if (event.data.length || event.id !== null)
      events.push({...event, data: event.data.join("\n")});
  }
  return {events, rest};
}

// Follows GET /2/jobs/events (fetch, as EventSource cannot send our
// Authorization header), resuming with Last-Event-ID after a drop.
async function follow() {
  if (state.live) state.live.abort();
  const control = new AbortController();
  state.live = control;
  let lastId = null;
  while (!control.signal.aborted) {
    try {
      const headers = {Authorization: state.auth, Accept: "text/event-stream"};
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const response = await fetch("/2/jobs/events", {headers,
        credentials: "omit", cache: "no-store", signal: control.signal});
      if (response.status === 401) return logout();
      if (!response.ok) throw new Error("HTTP " + response.status);
      $("live").textContent = "live";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        const parsed = parseEvents(buffer + value);
        buffer = parsed.rest;
        for (const event of parsed.events) {
          if (event.id !== null) lastId = event.id;
          if (event.type === "status") jobStatus(JSON.parse(event.data));
          else if (event.type === "log") jobLog(JSON.parse(event.data));
        }
        // Once per chunk: the replay at connection time can be long.
        if (parsed.events.length) renderJobs();
        if (parsed.events.some((event) => event.type === "status"))
          scheduleRefresh();
      }
    } catch (e) {
      if (control.signal.aborted) return;
    }
    $("live").textContent = "reconnecting…";
    await sleep(RECONNECT_SECONDS, control.signal);
  }
}

function isFinal(status) {
  return ["success", "error", "canceled"].includes(status);
}

function sleep(secs, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, secs * 1000);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); },
                            {once: true});
  });
}

// --- consoles ------------------------------------------------------------

// Asks for a short-lived console token (write users only) and connects
// xterm.js (serial) or noVNC (VNC) to the WebSocket it names.
async function openConsole(name, kind) {
  closeConsole();
  $("console-section").hidden = false;
  $("console-section").scrollIntoView({block: "nearest"});
  $("console-title").textContent = name + (kind === "vnc" ? " (VNC)" : "");
  $("console-state").textContent = "connecting…";
  const target = $("console");
  try {
    const grant = await api("POST", "/2/instances/" + encodeURIComponent(name)
                            + "/console-token", {kind});
    const url = new URL(grant.url, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    state.console = kind === "vnc" ? await vncConsole(target, url.href)
      : await serialConsole(target, url.href);
  } catch (e) {
    $("console-state").textContent = "Cannot open the console: " + e.message;
  }
}

async function serialConsole(target, url) {
  const {Terminal} = await import("./vendor/xterm/xterm.mjs");
  const term = new Terminal({convertEol: false, cursorBlink: true});
  term.open(target);
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const encoder = new TextEncoder();
  socket.onopen = () => { $("console-state").textContent = "connected"; term.focus(); };
  socket.onmessage = (event) => term.write(new Uint8Array(event.data));
  socket.onclose = () => { $("console-state").textContent = "disconnected"; };
  term.onData((data) => socket.readyState === 1 && socket.send(encoder.encode(data)));
  term.onBinary((data) => socket.readyState === 1 && socket.send(
    Uint8Array.from(data, (c) => c.charCodeAt(0))));
  return {close() { socket.close(); term.dispose(); }};
}

async function vncConsole(target, url) {
  const {default: RFB} = await import("./vendor/novnc/core/rfb.js");
  const rfb = new RFB(target, url);
  rfb.scaleViewport = true;
  rfb.addEventListener("connect", () => { $("console-state").textContent = "connected"; });
  rfb.addEventListener("disconnect", () => { $("console-state").textContent = "disconnected"; });
  return {close() { rfb.disconnect(); }};
}

function closeConsole() {
  if (state.console) state.console.close();
  state.console = null;
  $("console").replaceChildren();
  $("console-section").hidden = true;
}

// --- start-up --------------------------------------------------------------

$("login").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
$("console-close").addEventListener("click", closeConsole);
if (state.auth) {
  $("username").value = sessionStorage.getItem(USER_KEY) || "";
  start().catch(logout);
} else {
  $("login").hidden = false;
}
