/*
 * BroadcastOps player error reporter: include it in any player page.
 *
 *   <script src="https://console.example/static/errorlogs/reporter.js"></script>
 *   var reporter = BroadcastOpsReporter.create({endpoint: "https://console.example/api/v1/error-logs/mediamtx"});
 *   var response = await reporter.whepFetch(whepUrl, {method: "POST", body: offer, ...}, {streamId: "cam-1"});
 *   reporter.watch(peerConnection, {streamId: "cam-1", whepUrl: whepUrl});
 *   reporter.report({streamId, errorType, errorMessage, statusCode, whepUrl});  // anything else
 *
 * Reports go to POST /api/v1/error-logs/mediamtx in the shape the console keeps
 * (timestamp, streamId, errorType, errorMessage, statusCode, whepUrl, userAgent, clientInfo),
 * plus a reportId (sent again until the console answers 202, kept there once) and a
 * clientId (this browser, so the console counts distinct viewers).
 *
 * - At most one report per stream and kind every minIntervalMs (30 s).
 * - Reports wait in a bounded queue in localStorage (maxQueue, the oldest dropped first), so
 *   a reload keeps them; they are sent in arrays with fetch(..., {keepalive: true}) as
 *   text/plain (no CORS preflight), and with sendBeacon when the page goes away.
 * - While the console cannot be reached (or answers 5xx), it tries again with jittered
 *   exponential backoff; 429 and 503 are retried after their Retry-After. A report refused
 *   as invalid (4xx) is dropped, never retried for ever.
 * - Nothing here throws into the player: every failure of the reporter itself is a warning.
 */
(function (global) {
  "use strict";

  var KINDS = ["fetch_error", "whep_post_failed", "connection_closed", "connection_failed", "unknown"];
  var DEFAULTS = {
    endpoint: "/api/v1/error-logs/mediamtx",
    minIntervalMs: 30000,
    maxQueue: 200,
    batchMax: 50,
    maxBatchBytes: 60000, // keepalive bodies and beacons are limited to 64 KiB
    retryBaseMs: 2000,
    retryMaxMs: 60000,
    storageKey: "broadcastops.errorReports.v1"
  };

  function warn(message, error) {
    try { global.console && console.warn("[error reporter] " + message, error || ""); } catch (e) { /* ignore */ }
  }

  function uuid4() {
    var c = global.crypto;
    if (c && typeof c.randomUUID === "function") { return c.randomUUID(); }
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) { c.getRandomValues(b); } else {
      for (var i = 0; i < 16; i++) { b[i] = Math.floor(Math.random() * 256); }
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function MemoryStore() { this.data = {}; }
  MemoryStore.prototype.getItem = function (k) { return Object.prototype.hasOwnProperty.call(this.data, k) ? this.data[k] : null; };
  MemoryStore.prototype.setItem = function (k, v) { this.data[k] = String(v); };

  function storage() {
    try {
      var s = global.localStorage;
      s.setItem("broadcastops.probe", "1");
      return s;
    } catch (e) {
      return new MemoryStore(); // private mode, blocked storage: keep going without it
    }
  }

  function clientInfo() {
    var ua = (global.navigator && navigator.userAgent) || "";
    var name = "", version = "";
    var found = /(Edg|OPR|Firefox|Chrome|Chromium|Version)\/([\d.]+)/.exec(ua);
    if (found) {
      name = {Edg: "Edge", OPR: "Opera", Version: /Safari/.test(ua) ? "Safari" : "Browser"}[found[1]] || found[1];
      version = found[2];
    }
    var screenSize = global.screen ? global.screen.width + "x" + global.screen.height : "";
    return {
      browserName: name.slice(0, 64),
      browserVersion: version.slice(0, 64),
      os: ((global.navigator && navigator.platform) || "").slice(0, 128),
      screenResolution: screenSize.slice(0, 32)
    };
  }

  function text(value, limit) {
    var s = value === undefined || value === null ? "" : String(value);
    // The console refuses NUL and lone surrogates; a limit it would refuse is cut here.
    s = s.replace(/\u0000/g, "").replace(/[\ud800-\udbff](?![\udc00-\udfff])|(^|[^\ud800-\udbff])[\udc00-\udfff]/g, "$1");
    return s.length > limit ? s.slice(0, limit) : s;
  }

  function Reporter(options) {
    this.options = {};
    for (var k in DEFAULTS) { this.options[k] = DEFAULTS[k]; }
    for (var o in options || {}) { if (options[o] !== undefined && options[o] !== null) { this.options[o] = options[o]; } }
    this.store = storage();
    this.attempt = 0;
    this.nextAttemptAt = 0;
    this.sending = false;
    this.timer = null;
    this.sent = 0;      // reports the console acknowledged (202)
    this.dropped = 0;   // reports given up (queue full, refused as invalid)
    this.clientId = this.store.getItem(this.options.storageKey + ".clientId");
    if (!this.clientId) {
      this.clientId = uuid4();
      this.store.setItem(this.options.storageKey + ".clientId", this.clientId);
    }
    var self = this;
    try {
      global.addEventListener("online", function () { self.nextAttemptAt = 0; self.flush(); });
      global.addEventListener("pagehide", function () { self.beacon(); });
      global.addEventListener("visibilitychange", function () {
        if (global.document && document.visibilityState === "hidden") { self.beacon(); }
      });
    } catch (e) { warn("no page events", e); }
    this.schedule(100); // what a previous page left in the queue
  }

  Reporter.prototype.queue = function () {
    try {
      var q = JSON.parse(this.store.getItem(this.options.storageKey) || "[]");
      return Array.isArray(q) ? q : [];
    } catch (e) { return []; }
  };

  Reporter.prototype.save = function (q) {
    try { this.store.setItem(this.options.storageKey, JSON.stringify(q)); } catch (e) { warn("queue not saved", e); }
  };

  Reporter.prototype.report = function (failure) {
    try {
      failure = failure || {};
      var kind = KINDS.indexOf(failure.errorType) >= 0 ? failure.errorType : String(failure.errorType || "unknown");
      var stream = text(failure.streamId || "unknown", 200);
      var lastKey = this.options.storageKey + ".last";
      var last = {};
      try { last = JSON.parse(this.store.getItem(lastKey) || "{}") || {}; } catch (e) { last = {}; }
      var now = Date.now();
      var key = stream + "\u001f" + kind;
      if (last[key] && now - last[key] < this.options.minIntervalMs) { return false; }
      last[key] = now;
      for (var k in last) { if (now - last[k] > this.options.minIntervalMs) { delete last[k]; } }
      this.store.setItem(lastKey, JSON.stringify(last));
      var status = failure.statusCode;
      var item = {
        timestamp: new Date(now).toISOString(),
        streamId: stream,
        errorType: text(kind, 64),
        errorMessage: text(failure.errorMessage, 2000),
        statusCode: typeof status === "number" && status >= 0 && status <= 999 ? Math.floor(status) : null,
        whepUrl: text(failure.whepUrl, 2000),
        userAgent: text(global.navigator && navigator.userAgent, 512),
        clientInfo: clientInfo(),
        reportId: uuid4(),
        clientId: this.clientId
      };
      var q = this.queue();
      q.push(item);
      while (q.length > this.options.maxQueue) { q.shift(); this.dropped += 1; }
      this.save(q);
      this.schedule(0);
      return true;
    } catch (e) {
      warn("report not queued", e);
      return false;
    }
  };

  Reporter.prototype.schedule = function (delayMs) {
    var self = this;
    if (this.timer) { clearTimeout(this.timer); }
    var wait = Math.max(delayMs, this.nextAttemptAt - Date.now(), 0);
    this.timer = setTimeout(function () { self.timer = null; self.flush(); }, wait);
  };

  Reporter.prototype.batch = function (q, single) {
    var items = [], bytes = 2;
    for (var i = 0; i < q.length && items.length < (single ? 1 : this.options.batchMax); i++) {
      var size = JSON.stringify(q[i]).length + 1;
      if (items.length && bytes + size > this.options.maxBatchBytes) { break; }
      items.push(q[i]);
      bytes += size;
    }
    return items;
  };

  Reporter.prototype.forget = function (items) {
    var ids = {};
    items.forEach(function (r) { ids[r.reportId] = true; });
    this.save(this.queue().filter(function (r) { return !ids[r.reportId]; }));
  };

  Reporter.prototype.backoff = function (retryAfterS) {
    this.attempt += 1;
    var delay;
    if (retryAfterS) {
      delay = retryAfterS * 1000 + Math.random() * 500;
    } else {
      var ceiling = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * Math.pow(2, this.attempt - 1));
      delay = ceiling / 2 + Math.random() * ceiling / 2; // jittered: players do not retry in step
    }
    this.nextAttemptAt = Date.now() + delay;
    this.schedule(delay);
  };

  Reporter.prototype.flush = function (single) {
    var self = this;
    if (this.sending) { return Promise.resolve(); } // its answer schedules the next send
    if (Date.now() < this.nextAttemptAt) { // too early (a timer may fire a little early)
      this.schedule(0);
      return Promise.resolve();
    }
    var q = this.queue();
    if (!q.length) { return Promise.resolve(); }
    var items = this.batch(q, single);
    var body = JSON.stringify(items);
    this.sending = true;
    var request;
    try {
      request = global.fetch(this.options.endpoint, {
        method: "POST",
        body: body,
        headers: {"Content-Type": "text/plain;charset=UTF-8"},
        keepalive: body.length < 64000,
        credentials: "omit",
        mode: "cors"
      });
    } catch (e) {
      request = Promise.reject(e);
    }
    return request.then(function (response) {
      self.sending = false;
      if (response.status === 202) {
        self.attempt = 0;
        self.nextAttemptAt = 0;
        self.sent += items.length;
        self.forget(items);
        if (self.queue().length) { self.schedule(0); }
      } else if (response.status === 429 || response.status === 503) {
        self.backoff(parseInt(response.headers.get("Retry-After"), 10) || 5);
      } else if (response.status >= 400 && response.status < 500) {
        if (items.length > 1) {
          self.flush(true); // one of them is refused: find which, keep the others
        } else {
          warn("report refused (" + response.status + "), dropped");
          self.dropped += 1;
          self.forget(items);
          self.schedule(0);
        }
      } else {
        self.backoff(0);
      }
    }, function (error) {
      self.sending = false; // the console is unreachable: keep them, try again later
      self.backoff(0);
    });
  };

  Reporter.prototype.beacon = function () {
    try {
      var q = this.queue();
      if (!q.length || !global.navigator || !navigator.sendBeacon) { return; }
      var blob = new Blob([JSON.stringify(this.batch(q))], {type: "text/plain;charset=UTF-8"});
      // Kept in the queue: the next page sends them again, the console keeps them once.
      navigator.sendBeacon(this.options.endpoint, blob);
    } catch (e) { warn("beacon not sent", e); }
  };

  Reporter.prototype.whepFetch = function (url, init, context) {
    var self = this;
    context = context || {};
    return global.fetch(url, init).then(function (response) {
      if (!response.ok) {
        self.report({
          streamId: context.streamId, errorType: "whep_post_failed", statusCode: response.status,
          errorMessage: "WHEP POST failed: " + response.status + " " + (response.statusText || ""),
          whepUrl: url
        });
      }
      return response;
    }, function (error) {
      self.report({
        streamId: context.streamId, errorType: "fetch_error", statusCode: null,
        errorMessage: String((error && error.message) || error), whepUrl: url
      });
      throw error;
    });
  };

  Reporter.prototype.watch = function (pc, context) {
    var self = this;
    context = context || {};
    try {
      pc.addEventListener("connectionstatechange", function () {
        var state = pc.connectionState;
        if (state === "failed" || state === "closed") {
          self.report({
            streamId: context.streamId, whepUrl: context.whepUrl, statusCode: null,
            errorType: state === "failed" ? "connection_failed" : "connection_closed",
            errorMessage: "WebRTC connection " + state
          });
        }
      });
    } catch (e) { warn("connection not watched", e); }
    return pc;
  };

  global.BroadcastOpsReporter = {
    Reporter: Reporter,
    create: function (options) { return new Reporter(options); }
  };
})(window);
