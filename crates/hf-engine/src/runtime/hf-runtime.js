/* hf in-page runtime: virtual time, clip visibility and timeline seeking for HyperFrames
 * compositions. Injected first in <head> by hf's compile stage; the renderer drives it only
 * through window.__hf.seek(t). */
(function () {
  "use strict";
  if (window.__hf && window.__hf.__installed) return;

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

  var rafQueue = [];
  var rafNextId = 1;
  window.requestAnimationFrame = function (callback) {
    var id = rafNextId++;
    rafQueue.push({ id: id, callback: callback });
    return id;
  };
  window.cancelAnimationFrame = function (id) {
    rafQueue = rafQueue.filter(function (entry) { return entry.id !== id; });
  };
  function flushAnimationFrames() {
    // Run a snapshot: callbacks registered during the flush run on the next seek.
    var due = rafQueue;
    rafQueue = [];
    for (var i = 0; i < due.length; i++) {
      try { due[i].callback(virtualNowMs); } catch (e) { setTimeout(function () { throw e; }); }
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

  // ---- Clip visibility: half-open window start <= t < start + duration ----
  var clipStates = new Map();
  function syncClipVisibility(t) {
    var root = findRoot();
    var clips = document.querySelectorAll("[data-start]");
    for (var i = 0; i < clips.length; i++) {
      var el = clips[i];
      if (el === root) continue;
      var start = resolveStart(el);
      var duration = resolveDuration(el);
      var active = t >= start && (!(duration > 0) || t < start + duration);
      var ancestor = el.parentElement && el.parentElement.closest("[data-start]");
      while (active && ancestor && ancestor !== root) {
        if (clipStates.get(ancestor) === false) active = false;
        ancestor = ancestor.parentElement && ancestor.parentElement.closest("[data-start]");
      }
      clipStates.set(el, active);
      el.style.visibility = active ? "visible" : "hidden";
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
      var hostStart = host.hasAttribute("data-start") ? resolveStart(host) : 0;
      var playbackStart = number(host.getAttribute("data-playback-start"));
      if (!isFinite(playbackStart)) playbackStart = number(host.getAttribute("data-media-start"));
      if (!isFinite(playbackStart)) playbackStart = 0;
      var rate = number(host.getAttribute("data-playback-rate"));
      rate = isFinite(rate) ? Math.min(5, Math.max(0.1, rate)) : 1;
      seekTimeline(tl, playbackStart + Math.max(0, t - hostStart) * rate);
    });
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
      if (d > 0) best = Math.max(best, resolveStart(timed[i]) + d);
    }
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
  window.__hyperframes = window.__hyperframes || {};
  window.__hyperframes.getVariables = getVariables;

  // ---- Readiness ----
  var fontsReady = false;
  var imagesReady = false;
  function whenLoaded() {
    applyLayout();
    syncClipVisibility(0);
    var fonts = document.fonts && document.fonts.ready ? document.fonts.ready : Promise.resolve();
    fonts.then(function () { fontsReady = true; }, function () { fontsReady = true; });
    var images = Array.prototype.map.call(document.images, function (img) {
      return img.decode ? img.decode().catch(function () {}) : Promise.resolve();
    });
    Promise.all(images).then(function () { imagesReady = true; });
  }
  if (document.readyState === "complete") whenLoaded();
  else window.addEventListener("load", whenLoaded);

  var fps = 30;
  function quantize(t) {
    return Math.floor(t * fps + 1e-9) / fps;
  }

  window.__hf = {
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
        loaded: document.readyState === "complete",
        fontsReady: fontsReady,
        imagesReady: imagesReady,
        missingTimelines: missing,
        duration: compositionDuration()
      };
    },
    /** Show the composition at time t (seconds). The renderer's only seek call. */
    seek: function (t) {
      t = quantize(t);
      virtualNowMs = t * 1000;
      seekTimelines(t);
      syncClipVisibility(t);
      flushAnimationFrames();
      return t;
    },
    get duration() { return compositionDuration(); }
  };
})();
