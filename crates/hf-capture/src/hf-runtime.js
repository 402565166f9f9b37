/* hf in-page runtime: virtual time, clip visibility and timeline seeking for HyperFrames
 * compositions. Injected first in <head> by hf's compile stage; the renderer drives it only
 * through window.__hf.seek(t). */
(function () {
  "use strict";
  if (window.__hf && window.__hf.__installed) return;

  // Pages register timelines without a guard (`window.__timelines["main"] = tl`).
  if (!window.__timelines) window.__timelines = {};

  // ---- No dialogs, popups or closing: each would stall or end an unattended render ----
  // The call throws, so the render fails naming it (PAGE_SCRIPT_ERROR) unless the page
  // catches it.
  ["alert", "confirm", "prompt", "print", "open", "close"].forEach(function (name) {
    window[name] = function (message) {
      var shown = message === undefined ? "" : JSON.stringify(String(message)).slice(0, 80);
      throw new Error("hf: window." + name + "(" + shown + ") was called; a composition cannot " +
        (name === "open" ? "open windows" : name === "close" ? "close its window" : "show dialogs") +
        " while it renders: remove the call");
    };
  });

  // ---- Virtual time: Date, performance.now and requestAnimationFrame follow the seek clock ----
  var virtualNowMs = 0;
  var OriginalDate = window.Date;
  function HfDate() {
    if (!new.target) return new OriginalDate(virtualNowMs).toString();
    if (arguments.length === 0) return new OriginalDate(virtualNowMs);
    return new (Function.prototype.bind.apply(OriginalDate, [null].concat([].slice.call(arguments))))();
  }
  HfDate.prototype = OriginalDate.prototype;
  HfDate.now = function () { return virtualNowMs; };
  HfDate.parse = OriginalDate.parse;
  HfDate.UTC = OriginalDate.UTC;
  window.Date = HfDate;
  try {
    Object.defineProperty(window.performance, "now", { value: function () { return virtualNowMs; }, configurable: true });
  } catch (e) { /* keep the native clock if the property is locked */ }

  // ---- Seeded randomness: Math.random and crypto.getRandomValues repeat exactly per frame ----
  var randomState = 0x2545f491;
  function seedRandom(seed) { randomState = seed >>> 0; }
  function nextRandom() {
    randomState = (randomState + 0x6d2b79f5) | 0;
    var x = randomState;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }
  Math.random = nextRandom;
  if (window.crypto && typeof window.crypto.getRandomValues === "function") {
    try {
      window.crypto.getRandomValues = function (array) {
        var bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
        for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(nextRandom() * 256);
        return array;
      };
    } catch (e) { /* read-only in some contexts */ }
  }

  var rafQueue = [];
  var rafNextId = 1;
  // Whether page code (not GSAP's ticker, which only moves GSAP's global clock) has asked for
  // animation frames. Such callbacks may keep state from frame to frame (a start time, a
  // position stepped per frame), so a page that skips frames replays them first (catchUp).
  var pageUsesAnimationFrames = false;
  function requestedByGsap() {
    // [0] "Error", [1] this function, [2] requestAnimationFrame, [3] its caller.
    var caller = String(new Error().stack || "").split("\n")[3] || "";
    return /gsap[^/]*\.js/i.test(caller);
  }
  window.requestAnimationFrame = function (callback) {
    if (!pageUsesAnimationFrames && !requestedByGsap()) pageUsesAnimationFrames = true;
    var id = rafNextId++;
    rafQueue.push({ id: id, callback: callback });
    return id;
  };
  window.cancelAnimationFrame = function (id) {
    rafQueue = rafQueue.filter(function (entry) { return entry.id !== id; });
  };
  // Page code that runs on every seek (`hf-seek` listeners) or on a real-time clock
  // (setInterval) can change the page at any frame: no frame is predicted held then.
  var seekListeners = 0;
  var pageUsesIntervals = false;
  var nativeAddEventListener = window.addEventListener;
  window.addEventListener = function (type) {
    if (type === "hf-seek") seekListeners++;
    return nativeAddEventListener.apply(this, arguments);
  };
  var nativeSetInterval = window.setInterval;
  window.setInterval = function () {
    pageUsesIntervals = true;
    return nativeSetInterval.apply(this, arguments);
  };
  // Timers page code sets once the page has loaded run on the real clock (a setTimeout loop
  // animating something): GSAP's own and the runtime's do not count.
  var pageTimersAfterLoad = 0;
  var pageLoaded = false;
  var nativeSetTimeout = window.setTimeout;
  window.setTimeout = function () {
    if (pageLoaded && !requestedByGsap()) pageTimersAfterLoad++;
    return nativeSetTimeout.apply(this, arguments);
  };
  nativeAddEventListener.call(window, "load", function () {
    nativeSetTimeout(function () { pageLoaded = true; }, 0);
  });
  function rethrowLater(error) {
    nativeSetTimeout(function () { throw error; });
  }

  function flushAnimationFrames() {
    // Run a snapshot: callbacks registered during the flush run on the next seek.
    var due = rafQueue;
    rafQueue = [];
    for (var i = 0; i < due.length; i++) {
      try { due[i].callback(virtualNowMs); } catch (e) { rethrowLater(e); }
    }
  }

  // ---- Composition structure ----
  function findRoot() {
    return document.querySelector('[data-composition-id][data-root="true"]') ||
      Array.prototype.find.call(document.querySelectorAll("[data-composition-id]"), function (el) {
        return !el.parentElement || !el.parentElement.closest("[data-composition-id]");
      }) || null;
  }

  function number(value) {
    var n = parseFloat(value);
    return isFinite(n) ? n : NaN;
  }

  // Start of a clip in seconds. Relative starts ("intro", "intro + 0.5", "intro - 1") mean the
  // end of the named clip plus the offset.
  function resolveStart(el, seen) {
    var raw = (el.getAttribute("data-start") || "0").trim();
    var direct = Number(raw);
    if (raw !== "" && isFinite(direct)) return direct;
    var match = /^([A-Za-z_][\w-]*)\s*(?:([+-])\s*([0-9.]+))?$/.exec(raw);
    if (!match) return 0;
    var ref = document.getElementById(match[1]);
    seen = seen || [];
    if (!ref || seen.indexOf(ref) >= 0) return 0;
    var end = resolveStart(ref, seen.concat([el])) + resolveDuration(ref);
    var offset = match[3] ? number(match[3]) * (match[2] === "-" ? -1 : 1) : 0;
    return end + offset;
  }

  function resolveDuration(el) {
    var d = number(el.getAttribute("data-duration"));
    if (isFinite(d)) return d;
    var end = number(el.getAttribute("data-end"));
    if (isFinite(end)) return end - resolveStart(el);
    return NaN;
  }

  function playbackStartOf(host) {
    var p = number(host.getAttribute("data-playback-start"));
    if (!isFinite(p)) p = number(host.getAttribute("data-media-start"));
    return isFinite(p) ? p : 0;
  }

  function playbackRateOf(host) {
    var rate = number(host.getAttribute("data-playback-rate"));
    return isFinite(rate) ? Math.min(5, Math.max(0.1, rate)) : 1;
  }

  // The composition host that times `el` (its nearest composition ancestor), or null for the root.
  function timingHost(el) {
    var root = findRoot();
    // Inlined inner roots keep their composition id but are timed by their host.
    var host = el.parentElement && el.parentElement.closest("[data-composition-id]:not([data-hf-inner-root])");
    return host && host !== root ? host : null;
  }

  // Root time at which a composition host's local time 0 plays.
  function hostOffset(host) {
    if (!host) return 0;
    return absoluteStart(host) - playbackStartOf(host) / playbackRateOf(host);
  }

  // A nested <video>/<audio> whose literal data-start is a root-global time (the legacy
  // picture-in-picture case, marked data-hf-media-start-basis="global").
  function globalMediaStart(el, host) {
    if (!host || (el.tagName !== "VIDEO" && el.tagName !== "AUDIO")) return NaN;
    if (el.hasAttribute("data-hf-auto-start")) return NaN;
    var basis = (el.getAttribute("data-hf-media-start-basis") || "").trim().toLowerCase();
    var literal = (el.getAttribute("data-start") || "").trim();
    if (basis !== "global" || !/^[-+]?(\d+\.?\d*|\.\d+)$/.test(literal)) return NaN;
    return hostOffset(host) !== 0 ? Number(literal) : NaN;
  }

  // Start of `el` on the root timeline: clips inside a sub-composition are timed locally.
  function absoluteStart(el) {
    var host = timingHost(el);
    var global = globalMediaStart(el, host);
    if (isFinite(global)) return global;
    var local = el.hasAttribute("data-start") ? resolveStart(el) : 0;
    return host ? hostOffset(host) + local / playbackRateOf(host) : local;
  }

  // Root time -> a host's local time.
  function localTime(host, t) {
    if (!host) return t;
    return playbackStartOf(host) + Math.max(0, t - absoluteStart(host)) * playbackRateOf(host);
  }

  // ---- Clip visibility: half-open window start <= t < start + duration ----
  var clipStates = new Map();
  function syncClipVisibility(t) {
    var root = findRoot();
    var clips = document.querySelectorAll("[data-start]");
    for (var i = 0; i < clips.length; i++) {
      var el = clips[i];
      if (el === root) continue;
      var host = timingHost(el);
      var local = localTime(host, t);
      var start = resolveStart(el);
      var global = globalMediaStart(el, host);
      if (isFinite(global)) {
        local = t;
        start = global;
      }
      var duration = resolveDuration(el);
      var active = local >= start && (!(duration > 0) || local < start + duration);
      var ancestor = el.parentElement && el.parentElement.closest("[data-start]");
      while (active && ancestor && ancestor !== root) {
        if (clipStates.get(ancestor) === false) active = false;
        ancestor = ancestor.parentElement && ancestor.parentElement.closest("[data-start]");
      }
      clipStates.set(el, active);
      el.style.visibility = active ? "visible" : "hidden";
      // Everything inside a hidden clip stays hidden, even a descendant that says visible.
      if (active) el.removeAttribute("data-hf-clip-hidden");
      else el.setAttribute("data-hf-clip-hidden", "");
      var position = getComputedStyle(el).position;
      var inFlowLeaf = (position === "static" || position === "relative" || position === "sticky") &&
        !el.querySelector("[data-start]");
      if (inFlowLeaf) {
        if (!active && el.style.display !== "none") {
          el.setAttribute("data-hf-display", el.style.display || "");
          el.style.display = "none";
        } else if (active && el.hasAttribute("data-hf-display")) {
          el.style.display = el.getAttribute("data-hf-display");
          el.removeAttribute("data-hf-display");
        }
      }
    }
  }

  // ---- Layout: root gets its pixel size; root-level clips fill it ----
  function applyLayout() {
    // As HyperFrames: no default body margin, no scrollbars (inline, so page CSS yields).
    [document.documentElement, document.body].forEach(function (el) {
      if (!el) return;
      el.style.margin = "0";
      el.style.padding = "0";
      el.style.overflow = "hidden";
    });
    if (!document.querySelector("style[data-hf-hidden-clip-contents]")) {
      var hide = document.createElement("style");
      hide.setAttribute("data-hf-hidden-clip-contents", "");
      hide.textContent = '[data-hf-clip-hidden][style*="visibility: hidden"] * { visibility: hidden !important; }';
      document.head.appendChild(hide);
    }
    var root = findRoot();
    if (!root) return;
    var width = number(root.getAttribute("data-width"));
    var height = number(root.getAttribute("data-height"));
    root.style.position = "relative";
    root.style.overflow = "hidden";
    if (width > 0) { root.style.width = width + "px"; root.style.setProperty("--comp-width", width + "px"); }
    if (height > 0) { root.style.height = height + "px"; root.style.setProperty("--comp-height", height + "px"); }
    if (!root.hasAttribute("data-start")) root.setAttribute("data-start", "0");
    for (var i = 0; i < root.children.length; i++) {
      var child = root.children[i];
      if (!child.hasAttribute("data-start")) continue;
      var style = getComputedStyle(child);
      if (style.position !== "absolute" && style.position !== "fixed") child.style.position = "absolute";
      if (style.top === "auto" && style.bottom === "auto") child.style.top = "0";
      if (style.left === "auto" && style.right === "auto") child.style.left = "0";
      var rect = child.getBoundingClientRect();
      var w = number(child.getAttribute("data-width"));
      var h = number(child.getAttribute("data-height"));
      if (w > 0) child.style.width = w + "px"; else if (rect.width === 0) child.style.width = "100%";
      if (h > 0) child.style.height = h + "px"; else if (rect.height === 0) child.style.height = "100%";
    }
    var hidden = document.querySelectorAll("[data-hidden]");
    for (var j = 0; j < hidden.length; j++) hidden[j].style.setProperty("display", "none", "important");
  }

  // ---- Timelines (GSAP or anything with duration + totalTime/seek) ----
  function registeredTimelines() {
    var registry = window.__timelines;
    if (!registry) return {};
    if (Array.isArray(registry)) {
      var normalized = {};
      registry.forEach(function (tl, i) { normalized[String(i)] = tl; });
      return normalized;
    }
    return registry;
  }

  function rootTimeline() {
    var root = findRoot();
    var registry = registeredTimelines();
    var id = root && root.getAttribute("data-composition-id");
    if (id && registry[id]) return registry[id];
    var keys = Object.keys(registry);
    return keys.length === 1 ? registry[keys[0]] : null;
  }

  function timelineDuration(tl) {
    try {
      var d = typeof tl.totalDuration === "function" ? tl.totalDuration() : tl.duration();
      return isFinite(d) ? d : 0;
    } catch (e) { return 0; }
  }

  var callbackCache = new WeakMap();
  function hasCallbacks(tl) {
    if (callbackCache.has(tl)) return callbackCache.get(tl);
    var found = false;
    try {
      if (typeof tl.getChildren === "function") {
        found = tl.getChildren(true, true, false).some(function (child) {
          var vars = child.vars || {};
          return child.duration() === 0 && (vars.onComplete || vars.onStart || vars.onReverseComplete);
        });
      }
    } catch (e) { found = false; }
    callbackCache.set(tl, found);
    return found;
  }

  function seekTimeline(tl, t) {
    if (typeof tl.pause === "function") tl.pause();
    var clamped = Math.max(0, Math.min(t, timelineDuration(tl) || t));
    if (typeof tl.totalTime === "function") {
      tl.totalTime(clamped, false);
      if (!hasCallbacks(tl)) {
        // Nudge to refresh styles without firing callbacks twice.
        tl.totalTime(clamped + 0.001, true);
        tl.totalTime(clamped, true);
      }
    } else if (typeof tl.seek === "function") {
      tl.seek(clamped);
    }
  }

  function seekTimelines(t) {
    var root = findRoot();
    var main = rootTimeline();
    if (main) seekTimeline(main, t);
    var registry = registeredTimelines();
    Object.keys(registry).forEach(function (id) {
      var tl = registry[id];
      if (!tl || tl === main) return;
      var host = document.querySelector('[data-composition-id="' + id + '"]');
      if (!host || host === root) return;
      seekTimeline(tl, localTime(host, t));
    });
  }


  // ---- CSS animations and WAAPI: paused, currentTime from the seek clock ----
  // Start (root time) of the clip an animated element belongs to.
  function animationOrigin(el) {
    var clip = el && el.closest ? el.closest("[data-start]") : null;
    var root = findRoot();
    if (!clip || clip === root) {
      var host = el ? timingHost(el) : null;
      return host ? hostOffset(host) : 0;
    }
    return absoluteStart(clip);
  }

  // WAAPI animations created by scripts start at the virtual time they were created.
  var scriptAnimationOrigins = new WeakMap();
  if (window.Element && Element.prototype.animate) {
    var nativeAnimate = Element.prototype.animate;
    Element.prototype.animate = function () {
      var animation = nativeAnimate.apply(this, arguments);
      scriptAnimationOrigins.set(animation, virtualNowMs / 1000);
      try { animation.pause(); } catch (e) { /* keep going */ }
      return animation;
    };
  }

  function pageAnimations() {
    if (!document.getAnimations) return [];
    return document.getAnimations().filter(function (a) {
      return !(window.CSSTransition && a instanceof window.CSSTransition);
    });
  }

  function animationTarget(animation) {
    var effect = animation.effect;
    return effect && effect.target ? effect.target : null;
  }

  function animationOriginOf(animation) {
    if (scriptAnimationOrigins.has(animation)) return scriptAnimationOrigins.get(animation);
    return animationOrigin(animationTarget(animation));
  }

  function seekAnimations(t) {
    var animations = pageAnimations();
    for (var i = 0; i < animations.length; i++) {
      var animation = animations[i];
      try {
        if (animation.playState !== "paused") animation.pause();
        animation.currentTime = Math.max(0, t - animationOriginOf(animation)) * 1000;
      } catch (e) { /* a detached animation */ }
    }
  }

  function inferredAnimationDuration() {
    var best = 0;
    var animations = pageAnimations();
    for (var i = 0; i < animations.length; i++) {
      try {
        var end = animations[i].effect.getComputedTiming().endTime;
        if (isFinite(end)) best = Math.max(best, animationOriginOf(animations[i]) + end / 1000);
      } catch (e) { /* no effect */ }
    }
    return best;
  }

  // ---- Lottie (lottie-web): goToAndStop at the clip's local time ----
  function lottieAnimations() {
    var list = [];
    if (window.lottie && typeof window.lottie.getRegisteredAnimations === "function") {
      list = list.concat(window.lottie.getRegisteredAnimations());
    }
    if (Array.isArray(window.__hfLottie)) {
      window.__hfLottie.forEach(function (a) { if (list.indexOf(a) < 0) list.push(a); });
    }
    return list;
  }

  // ---- anime.js: instances in window.__hfAnime (and v3's anime.running) at absolute ms ----
  function animeInstances() {
    var anime = window.anime;
    if (anime && Array.isArray(anime.running) && anime.running.length > 0) {
      if (!Array.isArray(window.__hfAnime)) window.__hfAnime = [];
      anime.running.forEach(function (a) { if (window.__hfAnime.indexOf(a) < 0) window.__hfAnime.push(a); });
    }
    return Array.isArray(window.__hfAnime) ? window.__hfAnime : [];
  }
  function seekAnime(t) {
    animeInstances().forEach(function (instance) {
      try {
        if (typeof instance.seek === "function") instance.seek(Math.max(0, t) * 1000);
        if (typeof instance.pause === "function") instance.pause();
      } catch (e) { /* as upstream: one instance's error does not stop the others */ }
    });
  }

  function seekLottie(t) {
    lottieAnimations().forEach(function (animation) {
      try {
        var local = Math.max(0, t - animationOrigin(animation.wrapper || null));
        if (typeof animation.goToAndStop === "function") animation.goToAndStop(local * 1000, false);
        else if (typeof animation.seek === "function") animation.seek(local);
      } catch (e) { /* not ready */ }
    });
  }

  function inferredLottieDuration() {
    var best = 0;
    lottieAnimations().forEach(function (animation) {
      var frames = Number(animation.totalFrames), rate = Number(animation.frameRate);
      if (frames > 0 && rate > 0) best = Math.max(best, animationOrigin(animation.wrapper || null) + frames / rate);
    });
    return best;
  }

  // ---- Custom code: an `hf-seek` event whose handlers may delay the capture ----
  function dispatchSeekEvent(t) {
    var pending = [];
    var detail = { time: t, waitUntil: function (promise) { pending.push(Promise.resolve(promise)); } };
    window.__hfThreeTime = t;
    window.__hfTypegpuTime = t;
    try { window.dispatchEvent(new CustomEvent("hf-seek", { detail: detail })); } catch (e) { rethrowLater(e); }
    return pending;
  }

  // ---- Same-origin iframes follow the same clock ----
  function seekFrames(t) {
    var pending = [];
    var frames = document.querySelectorAll("iframe");
    for (var i = 0; i < frames.length; i++) {
      try {
        var child = frames[i].contentWindow;
        if (child && child.__hf && typeof child.__hf.seek === "function") {
          var result = child.__hf.seek(t);
          if (result && typeof result.then === "function") pending.push(result);
        }
      } catch (e) { /* cross-origin */ }
    }
    return pending;
  }

  // ---- Readiness-only libraries (HyperFrames' d3 and map adapters) ----
  // Instances the page pushes to these arrays are waited for before the first frame, never
  // seeked: their state must follow the timeline through GSAP or page code. A failure counts
  // as settled.
  var libraryArmed = new WeakSet();
  var librarySettled = new WeakSet();
  function loadedOrOnLoad(map, done) {
    if (typeof map.loaded === "function" && map.loaded()) done();
    else map.on("load", done);
  }
  var READY_LIBRARIES = [
    ["__hfD3", "d3 transition", function (transition, done) { transition.end().then(done, done); }],
    ["__hfLeaflet", "Leaflet map", function (map, done) { map.whenReady(done); }],
    ["__hfMapbox", "Mapbox map", loadedOrOnLoad],
    ["__hfMaplibre", "MapLibre map", loadedOrOnLoad],
    ["__hfGoogleMaps", "Google map", function (map, done) {
      window.google.maps.event.addListenerOnce(map, "tilesloaded", done);
    }]
  ];
  function armOnce(item, arm) {
    if (librarySettled.has(item)) return true;
    if (!libraryArmed.has(item)) {
      libraryArmed.add(item);
      var done = function () { librarySettled.add(item); };
      try { arm(item, done); } catch (e) { done(); }
    }
    return librarySettled.has(item);
  }
  /** What registered libraries (and `__hf.buildReady` promises) are still loading. */
  function pendingLibraries() {
    var pending = [];
    READY_LIBRARIES.forEach(function (entry) {
      var list = window[entry[0]];
      if (!Array.isArray(list)) return;
      list.forEach(function (item) {
        if (!item || (typeof item !== "object" && typeof item !== "function")) return;
        if (!armOnce(item, entry[2]) && pending.indexOf(entry[1]) < 0) pending.push(entry[1]);
      });
    });
    var build = window.__hf && window.__hf.buildReady;
    if (build && typeof build === "object") {
      Object.keys(build).forEach(function (name) {
        var promise = build[name];
        if (!promise || typeof promise.then !== "function") return;
        var ready = armOnce(promise, function (p, done) { p.then(done, done); });
        if (!ready) pending.push("__hf.buildReady." + name);
      });
    }
    return pending;
  }
  /** Live map widgets on the page (tiles come from the network; cameras are not seeked). */
  function liveMaps() {
    return [".leaflet-container", ".maplibregl-map", ".mapboxgl-map", ".gm-style", ".ol-viewport"]
      .filter(function (selector) { return !!document.querySelector(selector); });
  }

  function framesReady() {
    // three.js: what its default loading manager is loading (textures, models) first.
    var three = window.THREE && window.THREE.DefaultLoadingManager;
    if (three && typeof three.itemsTotal === "number" && three.itemsTotal > three.itemsLoaded) return false;
    var frames = document.querySelectorAll("iframe");
    for (var i = 0; i < frames.length; i++) {
      try {
        var doc = frames[i].contentDocument;
        if (doc && doc.readyState !== "complete") return false;
      } catch (e) { /* cross-origin: not ours to wait for */ }
    }
    return true;
  }

  // ---- Duration: the largest of the root timeline, the root's data-duration and child slots ----
  function compositionDuration() {
    var root = findRoot();
    if (!root) return 0;
    var best = 0;
    var main = rootTimeline();
    if (main) best = Math.max(best, timelineDuration(main));
    var own = number(root.getAttribute("data-duration") || root.getAttribute("data-composition-duration"));
    if (own > 0) best = Math.max(best, own);
    var timed = root.querySelectorAll("[data-composition-id][data-start], video[data-start], audio[data-start]");
    for (var i = 0; i < timed.length; i++) {
      var d = resolveDuration(timed[i]);
      if (d > 0) best = Math.max(best, absoluteStart(timed[i]) + d);
    }
    best = Math.max(best, inferredAnimationDuration(), inferredLottieDuration());
    return best >= 1 / 60 ? best : 0;
  }

  // ---- Variables: declared defaults overlaid with render-time overrides ----
  function getVariables() {
    var values = {};
    var declarers = [document.documentElement].concat(Array.prototype.slice.call(document.querySelectorAll("[data-composition-variables]")));
    declarers.forEach(function (el) {
      var raw = el && el.getAttribute("data-composition-variables");
      if (!raw) return;
      try {
        JSON.parse(raw).forEach(function (decl) {
          if (decl && decl.id !== undefined && !(decl.id in values)) values[decl.id] = decl["default"];
        });
      } catch (e) { /* reported by the compile stage */ }
    });
    var overrides = window.__hfVariables || {};
    Object.keys(overrides).forEach(function (key) { values[key] = overrides[key]; });
    return values;
  }
  function variablesFor(el) {
    var byComp = window.__hfVariablesByComp || {};
    var host = el && el.closest ? el.closest("[data-composition-id]:not([data-hf-inner-root])") : null;
    while (host) {
      var id = host.getAttribute("data-composition-id");
      if (byComp[id]) return byComp[id];
      host = host.parentElement && host.parentElement.closest("[data-composition-id]:not([data-hf-inner-root])");
    }
    return getVariables();
  }

  var activeScope = null;
  window.__hyperframes = window.__hyperframes || {};
  window.__hyperframes.getVariables = function () {
    if (activeScope) return Object.assign({}, (window.__hfVariablesByComp || {})[activeScope.runtimeId] || {});
    return getVariables();
  };

  // data-var-text / data-var-src: declarative bindings to variables.
  function applyVariableBindings() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-var-text]"), function (el) {
      var values = variablesFor(el);
      var key = el.getAttribute("data-var-text");
      if (values[key] !== undefined && values[key] !== null) el.textContent = String(values[key]);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-var-src]"), function (el) {
      var values = variablesFor(el);
      var key = el.getAttribute("data-var-src");
      if (typeof values[key] === "string" && values[key]) el.setAttribute("src", values[key]);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", applyVariableBindings);
  else applyVariableBindings();

  // Sub-composition scripts run inside a scope: selectors stay inside their mount,
  // getVariables() returns the mount's values, and window.__timelines writes land under the
  // mount's runtime id.
  window.__hfEnterScope = function (runtimeId, authoredId, authoredRootId) {
    var host = document.querySelector('[data-composition-id="' + runtimeId + '"]');
    var saved = {
      qs: Object.getOwnPropertyDescriptor(document, "querySelector"),
      qsa: Object.getOwnPropertyDescriptor(document, "querySelectorAll"),
      byId: Object.getOwnPropertyDescriptor(document, "getElementById"),
      byClass: Object.getOwnPropertyDescriptor(document, "getElementsByClassName")
    };
    var nativeQs = Document.prototype.querySelector;
    var nativeQsa = Document.prototype.querySelectorAll;
    function rewrite(selector) {
      var text = String(selector);
      if (authoredRootId) {
        text = text.replace(new RegExp("#" + authoredRootId.replace(/[-\/\\^$*+?.()|[\]{}]/g, "\\$&") + "(?![\\w-])", "g"),
          '[data-hf-authored-id="' + authoredRootId + '"]');
      }
      if (authoredId !== runtimeId) {
        text = text.split('data-composition-id="' + authoredId + '"').join('data-composition-id="' + runtimeId + '"');
      }
      return text;
    }
    function all(selector) {
      var sel = rewrite(selector);
      if (!host) return nativeQsa.call(document, sel);
      var found = Array.prototype.slice.call(host.querySelectorAll(sel));
      if (host.matches(sel)) found.unshift(host);
      return found;
    }
    if (host) {
      document.querySelector = function (selector) {
        var sel = rewrite(selector);
        return host.matches(sel) ? host : host.querySelector(sel);
      };
      document.querySelectorAll = function (selector) {
        var found = all(selector);
        // Keep NodeList-like behaviour (forEach, length, item) for callers.
        found.item = function (i) { return found[i] || null; };
        return found;
      };
      document.getElementById = function (id) {
        if (authoredRootId && id === authoredRootId) return host.querySelector("[data-hf-inner-root]");
        return host.querySelector('[id="' + String(id).replace(/"/g, '\\"') + '"]') || null;
      };
      document.getElementsByClassName = function (names) { return host.getElementsByClassName(names); };
    }
    var registry = window.__timelines = window.__timelines || {};
    var scopedRegistry = new Proxy(registry, {
      get: function (target, key) { return key === authoredId ? (target[runtimeId] || target[authoredId]) : target[key]; },
      set: function (target, key, value) {
        if (key === authoredId || key === runtimeId) {
          target[runtimeId] = value;
          if (!(authoredId in target)) target[authoredId] = value;
        } else {
          target[key] = value;
        }
        return true;
      }
    });
    Object.defineProperty(window, "__timelines", {
      configurable: true,
      get: function () { return scopedRegistry; },
      set: function (value) {
        if (value && value !== scopedRegistry) Object.keys(value).forEach(function (k) { scopedRegistry[k] = value[k]; });
      }
    });
    var previousScope = activeScope;
    activeScope = { runtimeId: runtimeId };
    void nativeQs;
    return {
      exit: function () {
        activeScope = previousScope;
        Object.defineProperty(window, "__timelines", { configurable: true, writable: true, enumerable: true, value: registry });
        ["qs", "qsa", "byId", "byClass"].forEach(function (key) {
          var name = { qs: "querySelector", qsa: "querySelectorAll", byId: "getElementById", byClass: "getElementsByClassName" }[key];
          if (saved[key]) Object.defineProperty(document, name, saved[key]);
          else delete document[name];
        });
      }
    };
  };

  // ---- Media: slots for the renderer; decoded video frames shown through sibling images ----

  // The audio group a data-audio-group element feeds, with its <hf-audio-group> settings
  // (the last element of that id wins; a group without one has volume 1 and no effects).
  // A sounding <video> may join a group too (HyperFrames 0.8); images never.
  function audioGroupOf(el) {
    var id = el.tagName === "IMG" ? null : el.getAttribute("data-audio-group");
    if (!id) return null;
    var group = null;
    Array.prototype.forEach.call(document.querySelectorAll("hf-audio-group"), function (candidate) {
      if (candidate.id === id) group = candidate;
    });
    var volume = group ? number(group.getAttribute("data-volume")) : 1;
    return {
      id: id,
      volume: isFinite(volume) ? volume : 1,
      hidden: !!(group && group.hasAttribute("data-hidden")),
      fxChain: (group && group.getAttribute("data-fx-chain")) || null,
      automation: (group && group.getAttribute("data-automation")) || null
    };
  }

  function mediaSlots() {
    var root = findRoot();
    return Array.prototype.map.call(document.querySelectorAll("video[data-hf-render-id], audio[data-hf-render-id], img[data-hf-render-id]"), function (el) {
      var image = el.tagName === "IMG";
      var host = timingHost(el);
      var start = absoluteStart(el);
      var d = resolveDuration(el);
      var end = d > 0 ? start + d / (host ? playbackRateOf(host) : 1) : null;
      // A timed ancestor (a clip or a sub-composition host) closes the slot with it.
      var ancestor = el.parentElement && el.parentElement.closest("[data-start]");
      while (ancestor && ancestor !== root) {
        var ad = resolveDuration(ancestor);
        if (ad > 0) {
          var close = absoluteStart(ancestor) + ad;
          end = end === null ? close : Math.min(end, close);
        }
        ancestor = ancestor.parentElement && ancestor.parentElement.closest("[data-start]");
      }
      var volume = number(el.getAttribute("data-volume"));
      var group = audioGroupOf(el);
      var rect = el.getBoundingClientRect();
      return {
        width: Math.max(el.offsetWidth || 0, rect.width || 0),
        height: Math.max(el.offsetHeight || 0, rect.height || 0),
        id: el.getAttribute("data-hf-render-id"),
        start: start,
        end: end,
        mediaStart: playbackStartOf(el),
        rate: playbackRateOf(el),
        // Animated GIFs loop, as browsers play them.
        loop: image || el.hasAttribute("loop"),
        volume: isFinite(volume) ? volume : 1,
        fadeIn: Math.max(0, number(el.getAttribute("data-fade-in")) || 0),
        fadeOut: Math.max(0, number(el.getAttribute("data-fade-out")) || 0),
        // An empty attribute is no chain and no lanes, as upstream reads them.
        automation: el.getAttribute("data-automation") || null,
        fxChain: el.getAttribute("data-fx-chain") || null,
        group: group,
        // A muted group drops its members from the mix.
        hidden: !!el.closest("[data-hidden]") || !!(group && group.hidden)
      };
    });
  }

  // Frames sampled per video slot when measuring the size it is shown at.
  var SIZE_SAMPLES = 16;

  // `mediaSlots()`, each video slot with `shownWidth`/`shownHeight`: the largest box (CSS px,
  // transforms included) it has at SIZE_SAMPLES frames spread over its slot within the first
  // `frameCount` frames, which is what its frames are extracted for. Only timelines, clip
  // visibility and CSS/WAAPI animations are seeked; the next real seek restores everything.
  function mediaSlotsWithSizes(frameCount) {
    var slots = mediaSlots();
    var byFrame = {};
    slots.forEach(function (slot) {
      slot.shownWidth = slot.width;
      slot.shownHeight = slot.height;
      var el = document.querySelector('video[data-hf-render-id="' + CSS.escape(slot.id) + '"]');
      if (!el || !(frameCount > 0)) return;
      var first = Math.max(0, Math.ceil(slot.start * fps - 1e-9));
      var last = frameCount - 1;
      if (slot.end !== null) last = Math.min(last, Math.ceil(slot.end * fps - 1e-9) - 1);
      if (last < first) return;
      for (var k = 0; k < SIZE_SAMPLES; k++) {
        var frame = Math.round(first + (last - first) * k / (SIZE_SAMPLES - 1));
        (byFrame[frame] = byFrame[frame] || []).push({ slot: slot, el: el });
      }
    });
    var frames = Object.keys(byFrame).map(Number).sort(function (a, b) { return a - b; });
    if (!frames.length) return slots;
    frames.forEach(function (frame) {
      var t = frame / fps;
      seekTimelines(t);
      syncClipVisibility(t);
      seekAnimations(t);
      byFrame[frame].forEach(function (entry) {
        var rect = entry.el.getBoundingClientRect();
        entry.slot.shownWidth = Math.max(entry.slot.shownWidth, rect.width || 0);
        entry.slot.shownHeight = Math.max(entry.slot.shownHeight, rect.height || 0);
      });
    });
    seekTimelines(0);
    syncClipVisibility(0);
    seekAnimations(0);
    return slots;
  }

  // Media elements whose volume a GSAP tween animates.
  function volumeTargets() {
    var found = [];
    var registry = registeredTimelines();
    Object.keys(registry).forEach(function (id) {
      var tl = registry[id];
      if (!tl || typeof tl.getChildren !== "function") return;
      tl.getChildren(true, true, false).forEach(function (tween) {
        var vars = tween.vars || {};
        var animated = "volume" in vars || (vars.startAt && "volume" in vars.startAt);
        if (!animated || typeof tween.targets !== "function") return;
        tween.targets().forEach(function (target) {
          if (target && target.getAttribute && target.hasAttribute("data-hf-render-id") && found.indexOf(target) < 0) {
            found.push(target);
          }
        });
      });
    });
    return found;
  }

  // Each volume-animated element's volume at every render frame (timelines only are seeked).
  function volumeEnvelopes(frameCount) {
    var targets = volumeTargets();
    var out = {};
    if (!targets.length) return out;
    targets.forEach(function (el) { out[el.getAttribute("data-hf-render-id")] = []; });
    for (var i = 0; i < frameCount; i++) {
      seekTimelines(i / fps);
      targets.forEach(function (el) {
        var v = Number(el.volume);
        out[el.getAttribute("data-hf-render-id")].push(isFinite(v) ? v : 1);
      });
    }
    seekTimelines(0);
    return out;
  }

  // The video's look, copied to the image that shows its frames (layout is set from offsets).
  var VIDEO_STYLE = ["transform", "transform-origin", "filter", "clip-path", "-webkit-clip-path",
    "mask", "-webkit-mask", "border-radius", "object-fit", "object-position", "z-index", "opacity",
    "mix-blend-mode", "box-shadow", "backface-visibility"];
  // A frame image that does not load fails the seek: never capture a broken image.
  function frameDecoded(img, url) {
    return img.decode().catch(function (error) {
      throw new Error("video frame " + url + " did not load (" + (error && error.message || error) + ")");
    });
  }
  // Every compiled <video> is shown through its frame image, so the element itself never is:
  // not even before the frames are known (the renderer's calibration frames), where a visible
  // video still loading makes Chrome hold back frames until its own picture is ready.
  function hideSourceVideos() {
    var videos = document.querySelectorAll("video[data-hf-render-id]");
    for (var i = 0; i < videos.length; i++) {
      videos[i].style.setProperty("visibility", "hidden", "important");
    }
  }
  function showVideoFrames(frames) {
    var pending = [];
    hideSourceVideos();
    if (!frames) return pending;
    Object.keys(frames).forEach(function (id) {
      var video = document.querySelector('[data-hf-render-id="' + CSS.escape(id) + '"]');
      if (!video || !video.parentNode) return;
      if (video.tagName === "IMG") {
        // An animated GIF shows the frame itself.
        if (frames[id] && video.getAttribute("src") !== frames[id]) {
          video.setAttribute("src", frames[id]);
          pending.push(frameDecoded(video, frames[id]));
        }
        return;
      }
      var img = video.__hfFrame;
      if (!img) {
        img = document.createElement("img");
        img.className = "__render_frame__";
        img.id = "__render_frame_" + id + "__";
        img.setAttribute("aria-hidden", "true");
        img.decoding = "sync";
        video.parentNode.insertBefore(img, video.nextSibling);
        video.__hfFrame = img;
      }
      var url = frames[id];
      var style = getComputedStyle(video);
      if (!url || clipStates.get(video) === false || style.display === "none") {
        img.style.setProperty("display", "none", "important");
        return;
      }
      VIDEO_STYLE.forEach(function (name) {
        img.style.setProperty(name, style.getPropertyValue(name));
      });
      var box = img.style;
      box.setProperty("display", "block", "important");
      box.position = "absolute";
      box.left = video.offsetLeft + "px";
      box.top = video.offsetTop + "px";
      box.width = video.offsetWidth + "px";
      box.height = video.offsetHeight + "px";
      box.margin = "0";
      box.padding = "0";
      box.border = "0";
      box.maxWidth = "none";
      box.maxHeight = "none";
      box.pointerEvents = "none";
      if (img.getAttribute("src") !== url) {
        img.setAttribute("src", url);
        pending.push(frameDecoded(img, url));
      }
    });
    return pending;
  }

  // ---- Readiness ----

  // ---- Activity: when the page can change (to skip capturing frames that repeat the last) ----
  // Root-time spans [start, end] during which something animates, or a reason why nothing can
  // be predicted. Conservative: whatever hf cannot see into changes everything from its time on.
  var FOREVER = 1e9;

  // A GSAP animation with callbacks or class/display changes can start anything: unknown from
  // its start on.
  function opensUnknown(animation) {
    var vars = animation.vars || {};
    if (vars.onStart || vars.onComplete || vars.onUpdate || vars.onRepeat || vars.onReverseComplete) return true;
    var css = vars.css || vars;
    return "className" in css || "display" in css || "onInterrupt" in vars;
  }

  // Spans of `tl`'s children in root time; `toRoot` maps `tl`'s time to root time.
  function timelineSpans(tl, toRoot, spans) {
    var children = tl.getChildren(false, true, true);
    for (var i = 0; i < children.length; i++) {
      var child = children[i];
      var start = child.startTime(), end = child.endTime();
      if (!isFinite(start) || !isFinite(end)) { spans.push([toRoot(start), FOREVER]); continue; }
      if (opensUnknown(child)) { spans.push([toRoot(start), FOREVER]); continue; }
      var nested = typeof child.getChildren === "function";
      var plain = !(typeof child.repeat === "function" && child.repeat() !== 0) &&
        !(typeof child.reversed === "function" && child.reversed());
      if (nested && plain) {
        var scale = child.timeScale() || 1;
        timelineSpans(child, (function (offset, k) {
          return function (v) { return toRoot(offset + v / k); };
        })(start, scale), spans);
      } else {
        spans.push([toRoot(start), toRoot(end)]);
      }
    }
  }

  function gsapSpans(spans) {
    var root = findRoot();
    var main = rootTimeline();
    var registry = registeredTimelines();
    var registered = [];
    var opaque = null;
    Object.keys(registry).forEach(function (id) {
      var tl = registry[id];
      if (!tl) return;
      if (typeof tl.getChildren !== "function") {
        opaque = "timeline \"" + id + "\" is not GSAP (hf cannot see what it animates when)";
        return;
      }
      registered.push(tl);
      if (opensUnknown(tl)) { spans.push([0, FOREVER]); return; }
      if (tl === main) { timelineSpans(tl, function (v) { return v; }, spans); return; }
      var host = document.querySelector('[data-composition-id="' + id + '"]');
      if (!host || host === root) return;
      var begin = absoluteStart(host), from = playbackStartOf(host), rate = playbackRateOf(host);
      var local = [];
      timelineSpans(tl, function (v) { return begin + (v - from) / rate; }, local);
      local.forEach(function (span) {
        if (span[1] >= begin) spans.push([Math.max(span[0], begin), span[1]]);
      });
    });
    // Tweens outside the registered timelines run on GSAP's own clock: unknown.
    var gsap = window.gsap;
    if (gsap && gsap.globalTimeline && typeof gsap.globalTimeline.getChildren === "function") {
      var loose = gsap.globalTimeline.getChildren(false, true, true).filter(function (child) {
        return registered.indexOf(child) < 0 && !child.paused();
      });
      if (loose.length) return "GSAP animations outside the registered timelines";
    }
    return opaque;
  }

  function clipSpans(spans) {
    var root = findRoot();
    var clips = document.querySelectorAll("[data-start]");
    for (var i = 0; i < clips.length; i++) {
      var el = clips[i];
      if (el === root) continue;
      var host = timingHost(el);
      var start = absoluteStart(el);
      var duration = resolveDuration(el);
      var end = duration > 0 ? start + duration / (host ? playbackRateOf(host) : 1) : FOREVER;
      spans.push([start, start], [end, end]);
      // A clip hidden with display:none hides its CSS animations from the page: its window.
      if (el.hasAttribute("data-hf-display")) spans.push([start, end]);
    }
  }

  function animationSpans(spans) {
    var animations = pageAnimations();
    for (var i = 0; i < animations.length; i++) {
      var animation = animations[i];
      if (!animation.effect) return "an animation without an effect";
      var timing = animation.effect.getComputedTiming();
      var origin = animationOriginOf(animation);
      var begin = origin + timing.delay / 1000;
      var active = timing.activeDuration;
      spans.push([begin, isFinite(active) ? begin + active / 1000 : FOREVER]);
    }
    lottieAnimations().forEach(function (animation) {
      var origin = animationOrigin(animation.wrapper || null);
      var frames = Number(animation.totalFrames), rate = Number(animation.frameRate);
      var end = animation.loop || !(frames > 0 && rate > 0) ? FOREVER : origin + frames / rate;
      spans.push([origin, end]);
    });
    return null;
  }

  // Page features hf cannot see into: any of them and nothing is predicted.
  function unpredictable() {
    if (animeInstances().length > 0) return "the page animates with anime.js";
    if (pageUsesAnimationFrames) return "page code uses requestAnimationFrame";
    if (seekListeners > 0) return "page code listens to hf-seek";
    if (pageUsesIntervals) return "page code uses setInterval";
    if (pageTimersAfterLoad > 0) return "page code sets timers after load";
    if (document.querySelector("iframe")) return "the page has iframes";
    if (document.querySelector("animate, animateMotion, animateTransform, set, marquee")) return "the page has SVG or marquee animations";
    // Chrome animates these images by itself (GIF <img> are shown as frames by hf).
    var animatedImage = /\.(webp|apng|gif)([?#]|$)/i;
    var images = document.images;
    for (var j = 0; j < images.length; j++) {
      if (!images[j].hasAttribute("data-hf-render-id") && animatedImage.test(images[j].currentSrc || images[j].src)) {
        return "an image Chrome may animate (" + (images[j].currentSrc || images[j].src) + ")";
      }
    }
    var running = new Set();
    pageAnimations().forEach(function (a) { if (a.effect && a.effect.target) running.add(a.effect.target); });
    var all = document.querySelectorAll("body *");
    for (var i = 0; i < all.length; i++) {
      var style = getComputedStyle(all[i]);
      if (/[1-9]/.test(style.transitionDuration)) return "the page has CSS transitions";
      if (/\.(webp|apng|gif)["')?#]/i.test(style.backgroundImage)) return "a background image Chrome may animate";
      // (A clip hidden with display:none counts as animating over its whole window.)
      if (style.animationName && style.animationName !== "none" && !running.has(all[i]) &&
          !all[i].closest("[data-hf-display]")) {
        return "a CSS animation that is not running yet";
      }
    }
    return null;
  }

  function activity() {
    var spans = [];
    var reason = unpredictable();
    try {
      reason = reason || gsapSpans(spans) || animationSpans(spans);
      clipSpans(spans);
    } catch (e) {
      reason = reason || "the page's animations could not be read: " + e;
    }
    return { unknown: reason, spans: spans.filter(function (s) { return isFinite(s[0]) && isFinite(s[1]); }) };
  }

  var fontsReady = false;
  var imagesReady = false;
  function whenLoaded() {
    applyLayout();
    syncClipVisibility(0);
    hideSourceVideos();
    var fonts = document.fonts && document.fonts.ready ? document.fonts.ready : Promise.resolve();
    fonts.then(function () { fontsReady = true; }, function () { fontsReady = true; });
    var images = Array.prototype.map.call(document.images, function (img) {
      return img.decode ? img.decode().catch(function () {}) : Promise.resolve();
    });
    Promise.all(images).then(function () { imagesReady = true; });
  }
  if (document.readyState === "complete") whenLoaded();
  else window.addEventListener("load", whenLoaded);

  // ---- Shader transitions: HyperShader.init(...) or window.__hf.transitions = [...] ----
  // Render mode for the transitions library: it only schedules scene opacity and writes
  // __hf.transitions; hf captures each scene as a layer and blends them itself.
  if (!window.__HF_VIRTUAL_TIME__) window.__HF_VIRTUAL_TIME__ = { engine: "hf" };
  // The library's metadata leaves out the colours; keep the ones its init was given.
  function wrapHyperShader(library) {
    if (!library || typeof library.init !== "function" || library.init.__hf) return library;
    var init = library.init;
    var wrapped = function (config) {
      var timeline = init.apply(this, arguments);
      var list = window.__hf && window.__hf.transitions;
      if (Array.isArray(list) && config) {
        list.forEach(function (entry) {
          entry.bgColor = config.bgColor;
          entry.accentColor = config.accentColor;
          entry.fromLibrary = true;
        });
      }
      return timeline;
    };
    wrapped.__hf = true;
    // Bundlers export read-only getters: the page gets an object that inherits the rest.
    var wrapper = Object.create(library);
    Object.defineProperty(wrapper, "init", { value: wrapped, enumerable: true });
    return wrapper;
  }
  var hyperShader;
  try {
    Object.defineProperty(window, "HyperShader", {
      configurable: true,
      enumerable: true,
      get: function () { return hyperShader; },
      set: function (value) { hyperShader = wrapHyperShader(value); }
    });
  } catch (e) { /* a page-defined HyperShader stays as it is */ }

  function finiteOrNull(value) {
    var n = Number(value);
    return isFinite(n) ? n : null;
  }
  function transitionList() {
    var list = window.__hf && window.__hf.transitions;
    if (!Array.isArray(list)) return [];
    return list.map(function (t) {
      t = t || {};
      var hasShader = typeof t.shader === "string";
      return {
        time: finiteOrNull(t.time),
        duration: t.duration == null ? 0.7 : finiteOrNull(t.duration),
        shader: hasShader ? t.shader : null,
        fromScene: String(t.fromScene == null ? "" : t.fromScene),
        toScene: String(t.toScene == null ? "" : t.toScene),
        bgColor: typeof t.bgColor === "string" ? t.bgColor : null,
        accentColor: typeof t.accentColor === "string" ? t.accentColor : null,
        // The library animates a transition without a shader itself (a CSS crossfade).
        pageFades: !hasShader && t.fromLibrary === true,
        fromFound: !!document.getElementById(t.fromScene),
        toFound: !!document.getElementById(t.toScene)
      };
    });
  }

  // One scene alone on the page (its layer of a transition frame): everything else hidden,
  // page backgrounds `background` (a CSS colour, or transparent), the scene itself opaque.
  var layerMask = null;
  // Install a mask: `pins` ([element, property, value], set inline !important) and `css`
  // (after everything else is hidden); undone by unmaskLayer.
  function installMask(pins, css) {
    unmaskLayer();
    var restore = pins.map(function (p) {
      var entry = [p[0], p[1], p[0].style.getPropertyValue(p[1]), p[0].style.getPropertyPriority(p[1])];
      p[0].style.setProperty(p[1], p[2], "important");
      return entry;
    });
    var style = document.createElement("style");
    style.id = "__hf_layer_mask__";
    style.textContent = "body *{visibility:hidden!important}" + css;
    document.head.appendChild(style);
    layerMask = { style: style, restore: restore };
  }
  function maskLayer(id, background) {
    unmaskLayer();
    var scene = document.getElementById(id);
    if (!scene) return false;
    // What is hidden inside the scene stays hidden under the mask's show rule.
    var pins = [];
    var inside = scene.getElementsByTagName("*");
    for (var i = 0; i < inside.length; i++) {
      if (getComputedStyle(inside[i]).visibility === "hidden") pins.push([inside[i], "visibility", "hidden"]);
    }
    pins.push([scene, "opacity", "1"]);
    var selector = "#" + CSS.escape(id);
    installMask(pins, selector + "," + selector + " *{visibility:visible!important}" +
      "html,body{background:" + (background || "transparent") + "!important;background-image:none!important}");
    return true;
  }
  function unmaskLayer() {
    if (!layerMask) return true;
    layerMask.style.remove();
    layerMask.restore.reverse().forEach(function (entry) {
      if (entry[2]) entry[0].style.setProperty(entry[1], entry[2], entry[3]);
      else entry[0].style.removeProperty(entry[1]);
    });
    layerMask = null;
    return true;
  }

  // ---- HDR layers: HDR media drawn by the renderer between captures of the page ----
  // What the page paints below and above each HDR element is captured separately (each group
  // alone, with alpha); the renderer draws the HDR pictures in between at full precision.
  var hdrGroups = null;
  var IDENTITY = [1, 0, 0, 1, 0, 0];
  function multiply(m, n) {
    return [m[0] * n[0] + m[2] * n[1], m[1] * n[0] + m[3] * n[1],
      m[0] * n[2] + m[2] * n[3], m[1] * n[2] + m[3] * n[3],
      m[0] * n[4] + m[2] * n[5] + m[4], m[1] * n[4] + m[3] * n[5] + m[5]];
  }
  function parseMatrix(text) {
    var values = (/\(([^)]*)\)/.exec(text) || [])[1];
    if (!values) return IDENTITY;
    var v = values.split(",").map(Number);
    if (v.length === 16) return [v[0], v[1], v[4], v[5], v[12], v[13]];
    return v.length === 6 ? v : IDENTITY;
  }
  // Element pixels (border box, origin top left) to page pixels, every transform of the
  // element and its ancestors included.
  function elementMatrix(el) {
    var chain = [];
    for (var a = el; a && a.nodeType === 1; a = a.parentElement) chain.push(a);
    var styles = chain.map(function (a) {
      var cs = getComputedStyle(a);
      return { transform: cs.transform, origin: cs.transformOrigin,
        inline: a.style.getPropertyValue("transform"), priority: a.style.getPropertyPriority("transform") };
    });
    var transformed = chain.filter(function (a, i) { return styles[i].transform !== "none"; });
    transformed.forEach(function (a) { a.style.setProperty("transform", "none", "important"); });
    var boxes = chain.map(function (a) { return a.getBoundingClientRect(); });
    chain.forEach(function (a, i) {
      if (styles[i].transform === "none") return;
      if (styles[i].inline) a.style.setProperty("transform", styles[i].inline, styles[i].priority);
      else a.style.removeProperty("transform");
    });
    var m = IDENTITY;
    for (var i = chain.length - 1; i >= 0; i--) {
      if (styles[i].transform === "none") continue;
      var origin = styles[i].origin.split(" ").map(parseFloat);
      var ox = boxes[i].left + (origin[0] || 0), oy = boxes[i].top + (origin[1] || 0);
      m = multiply(m, multiply(multiply([1, 0, 0, 1, ox, oy], parseMatrix(styles[i].transform)), [1, 0, 0, 1, -ox, -oy]));
    }
    return multiply(m, [1, 0, 0, 1, boxes[0].left, boxes[0].top]);
  }
  function px(value, of) {
    var n = parseFloat(value) || 0;
    return /%$/.test(String(value).trim()) ? n * of / 100 : n;
  }
  // A media element the page shows now (its clip open, nothing hiding it).
  function shownMedia(el) {
    if (clipStates.get(el) === false || el.getClientRects().length === 0) return false;
    var holder = el.tagName === "VIDEO" ? el.parentElement : el;
    return !holder || getComputedStyle(holder).visibility === "visible";
  }
  function placement(el, dpr) {
    var cs = getComputedStyle(el);
    var w = el.offsetWidth, h = el.offsetHeight;
    var left = px(cs.borderLeftWidth) + px(cs.paddingLeft), top = px(cs.borderTopWidth) + px(cs.paddingTop);
    var right = px(cs.borderRightWidth) + px(cs.paddingRight), bottom = px(cs.borderBottomWidth) + px(cs.paddingBottom);
    var position = cs.objectPosition.split(" ");
    var axis = function (value) {
      value = String(value || "50%").trim();
      return /%$/.test(value) ? [parseFloat(value) / 100, 0] : [0, parseFloat(value) || 0];
    };
    var opacity = 1, clip = null;
    for (var a = el; a && a.nodeType === 1; a = a.parentElement) {
      var style = getComputedStyle(a);
      opacity *= Number(style.opacity);
      if (a !== el && a !== document.documentElement && a !== document.body &&
          (style.overflowX !== "visible" || style.overflowY !== "visible")) {
        var r = a.getBoundingClientRect();
        var box = [(r.left + a.clientLeft) * dpr, (r.top + a.clientTop) * dpr,
          (r.left + a.clientLeft + a.clientWidth) * dpr, (r.top + a.clientTop + a.clientHeight) * dpr];
        clip = clip ? [Math.max(clip[0], box[0]), Math.max(clip[1], box[1]),
          Math.min(clip[2], box[2]), Math.min(clip[3], box[3])] : box;
      }
    }
    var corner = function (value) { return Math.min(px(value.split(" ")[0], Math.min(w, h)), Math.min(w, h) / 2); };
    var ox = axis(position[0]), oy = axis(position[1]);
    return {
      transform: multiply([dpr, 0, 0, dpr, 0, 0], elementMatrix(el)),
      size: [w, h],
      content: [left, top, Math.max(0, w - left - right), Math.max(0, h - top - bottom)],
      fit: ["fill", "contain", "cover", "none", "scale-down"].indexOf(cs.objectFit) >= 0 ? cs.objectFit : "fill",
      position: [ox[0], ox[1], oy[0], oy[1]],
      opacity: opacity,
      radius: [corner(cs.borderTopLeftRadius), corner(cs.borderTopRightRadius),
        corner(cs.borderBottomRightRadius), corner(cs.borderBottomLeftRadius)],
      clip: clip
    };
  }
  // Where an element paints: stacking level, positioned or not, document order.
  function paintKey(el, order, cache) {
    var z = 0, tier = 0;
    for (var a = el; a && a !== document.documentElement; a = a.parentElement) {
      var style = cache.get(a);
      if (!style) { style = getComputedStyle(a); cache.set(a, style); }
      if (style.position !== "static") {
        tier = 1;
        if (style.zIndex !== "auto") { z = parseInt(style.zIndex, 10) || 0; break; }
      }
    }
    return [z, tier, order];
  }
  function before(a, b) {
    return a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];
  }
  // The HDR elements (by render id) shown now, back to front, with their placement; the rest
  // of the page is split into the groups painted below, between and above them.
  // With `sceneId`, only that scene counts (a transition layer): HDR elements inside it, the
  // scene's own content split around them, the scene opaque.
  function hdrLayout(ids, sceneId) {
    hdrGroups = null;
    var dpr = window.devicePixelRatio || 1;
    var scope = sceneId ? document.getElementById(sceneId) : null;
    if (sceneId && !scope) return [];
    var all = Array.prototype.slice.call((scope || document.body).getElementsByTagName("*"));
    if (scope) all.unshift(scope);
    var opacity = scope ? [scope.style.getPropertyValue("opacity"), scope.style.getPropertyPriority("opacity")] : null;
    if (scope) scope.style.setProperty("opacity", "1", "important");
    try {
      return layoutIn(ids, all, scope, dpr);
    } finally {
      if (scope) {
        if (opacity[0]) scope.style.setProperty("opacity", opacity[0], opacity[1]);
        else scope.style.removeProperty("opacity");
      }
    }
  }
  function layoutIn(ids, all, scope, dpr) {
    var order = new Map(), cache = new Map();
    all.forEach(function (el, i) { order.set(el, i); });
    var shown = [], media = new Set();
    ids.forEach(function (id) {
      var el = document.querySelector('[data-hf-render-id="' + CSS.escape(id) + '"]');
      if (!el) return;
      media.add(el);
      if (scope && !scope.contains(el)) return;
      if (shownMedia(el)) shown.push({ id: id, el: el, key: paintKey(el, order.get(el), cache) });
    });
    if (shown.length === 0) return [];
    shown.sort(function (a, b) { return before(a.key, b.key) ? -1 : 1; });
    var groups = shown.map(function () { return []; }).concat([[]]);
    var hidden = [];
    all.forEach(function (el) {
      if (media.has(el)) { hidden.push(el); return; }
      if (getComputedStyle(el).visibility === "hidden") { hidden.push(el); return; }
      var key = paintKey(el, order.get(el), cache), g = 0;
      while (g < shown.length && before(shown[g].key, key)) g++;
      groups[g].push(el);
    });
    hdrGroups = { groups: groups, hidden: hidden, scope: scope };
    return shown.map(function (entry) {
      var out = placement(entry.el, dpr);
      out.id = entry.id;
      return out;
    });
  }
  // Show only page group `group` of the last hdrLayout (0: below every HDR element, with the
  // page background, or `background` for a scene); undone by unmaskLayer.
  function maskHdrLayer(group, background) {
    unmaskLayer();
    if (!hdrGroups || !hdrGroups.groups[group]) return false;
    var pins = hdrGroups.groups[group].map(function (el) { return [el, "visibility", "visible"]; })
      .concat(hdrGroups.hidden.map(function (el) { return [el, "visibility", "hidden"]; }));
    if (hdrGroups.scope) pins.push([hdrGroups.scope, "opacity", "1"]);
    var page = hdrGroups.scope ? (group === 0 && background) || "transparent" : null;
    installMask(pins, page
      ? "html,body{background:" + page + "!important;background-image:none!important}"
      : group > 0 ? "html,body{background:transparent!important;background-image:none!important}" : "");
    return true;
  }

  var fps = 30;
  function quantize(t) {
    return Math.floor(t * fps + 1e-9) / fps;
  }

  // The last frame this page was seeked to (-1: none yet).
  var lastSeekFrame = -1;

  // Put the page in its state at (quantized) time t; returns what the capture must wait for.
  function applyFrame(t, videoFrames) {
    virtualNowMs = t * 1000;
    seedRandom(Math.imul(Math.round(t * fps) + 1, 2654435761));
    seekTimelines(t);
    // Visibility first: a clip shown again with display restored gets its CSS animations
    // back, and they must be seeked in this same frame.
    syncClipVisibility(t);
    seekAnimations(t);
    seekAnime(t);
    seekLottie(t);
    var pending = showVideoFrames(videoFrames).concat(dispatchSeekEvent(t));
    flushAnimationFrames();
    return pending.concat(seekFrames(t));
  }

  var pageDuration = 0;
  var hf = {
    __installed: true,
    /** Frame rate used to quantize seek times (set by the renderer). */
    configure: function (options) {
      if (options && options.fps > 0) fps = options.fps;
    },
    /** What the renderer waits for before the first frame. */
    status: function () {
      var missing = [];
      var registry = registeredTimelines();
      var root = findRoot();
      var bound = rootTimeline();
      Array.prototype.forEach.call(document.querySelectorAll("[data-composition-id]"), function (el) {
        if (el.hasAttribute("data-no-timeline")) return;
        var id = el.getAttribute("data-composition-id");
        if (registry[id] || (el === root && bound)) return;
        if (missing.indexOf(id) < 0) missing.push(id);
      });
      return {
        loaded: document.readyState === "complete" && framesReady(),
        fontsReady: fontsReady,
        imagesReady: imagesReady,
        missingTimelines: missing,
        pendingLibraries: pendingLibraries(),
        liveMaps: liveMaps(),
        duration: compositionDuration() || pageDuration
      };
    },
    /**
     * Media slots resolved on the render timeline, for the renderer's audio and video stages;
     * with a frame count, video slots also carry the largest size they are shown at.
     */
    media: mediaSlotsWithSizes,
    /** GSAP-animated media volumes sampled at every frame: { renderId: [volume, ...] }. */
    volumeEnvelopes: volumeEnvelopes,
    /** The root composition's data-fx-chain (the master bus), or null. */
    masterFx: function () {
      var root = findRoot();
      return (root && root.getAttribute("data-fx-chain")) || null;
    },
    /** When the page can change: root-time spans, or why that cannot be predicted. */
    activity: activity,
    /**
     * Show the composition at time t (seconds). The renderer's only seek call. `videoFrames`
     * maps each video's render id to the image of its frame at t (null: outside its slot).
     */
    seek: function (t, videoFrames) {
      t = quantize(t);
      lastSeekFrame = Math.round(t * fps);
      var pending = applyFrame(t, videoFrames);
      if (pending.length === 0) return t;
      return Promise.all(pending).then(function () { return t; });
    },
    /**
     * Before a seek that skips frames: when page code uses animation frames, run the frames
     * after the last one seeked up to (not including) `frame`, at most `limit` of them, so
     * stateful callbacks are where a frame-by-frame render would have them. Returns how many
     * frames are still to run (0: ready for `frame`).
     */
    catchUp: function (frame, limit) {
      if (!pageUsesAnimationFrames || frame <= lastSeekFrame + 1) return 0;
      var end = Math.min(frame, lastSeekFrame + 1 + limit);
      var pending = [];
      for (var k = lastSeekFrame + 1; k < end; k++) pending = pending.concat(applyFrame(k / fps, null));
      lastSeekFrame = end - 1;
      var remaining = frame - end;
      if (pending.length === 0) return remaining;
      return Promise.all(pending).then(function () { return remaining; });
    },
    /** The page's transitions (`__hf.transitions`, normalised), for the renderer's plan. */
    transitionList: transitionList,
    /** Show only scene `id` over `background` (a transition layer); undone by unmaskLayer. */
    maskLayer: maskLayer,
    unmaskLayer: unmaskLayer,
    /** HDR elements shown now (render ids in), placed, back to front; splits the page. */
    hdrLayout: hdrLayout,
    /** Show only page group `group` between HDR elements; undone by unmaskLayer. */
    maskHdrLayer: maskHdrLayer,
    get duration() { return compositionDuration() || pageDuration; }
  };
  // A page that assigns its own `window.__hf = { duration, seek }` (HyperFrames' minimal
  // protocol) keeps hf's object, as upstream's bridge patches the page's in place: the
  // page's other fields are kept, its duration counts when nothing else gives one, and
  // frames are seeked by hf (upstream never calls the page's seek either).
  var reserved = Object.keys(Object.getOwnPropertyDescriptors(hf));
  Object.defineProperty(window, "__hf", {
    configurable: true,
    enumerable: true,
    get: function () { return hf; },
    set: function (value) {
      if (!value || value === hf || typeof value !== "object") return;
      Object.keys(value).forEach(function (key) {
        if (key === "duration") {
          var d = Number(value.duration);
          if (isFinite(d) && d > 0) pageDuration = d;
        } else if (reserved.indexOf(key) < 0) {
          hf[key] = value[key];
        }
      });
    }
  });
})();
