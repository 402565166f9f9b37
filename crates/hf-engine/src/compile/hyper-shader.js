/* hf's stand-in for @hyperframes/shader-transitions, used when a page loads the library from
 * a CDN (renders run offline). It does what the library does in render mode: checks the
 * config, writes window.__hf.transitions, and schedules scene opacity on the timeline; hf
 * captures the scenes as layers and blends them itself. */
(function () {
  "use strict";
  var SHADER_NAMES = ["domain-warp", "ridged-burn", "whip-pan", "sdf-iris", "ripple-waves",
    "gravitational-lens", "cinematic-zoom", "chromatic-split", "glitch", "swirl-vortex",
    "thermal-distortion", "flash-through-white", "cross-warp-morph", "light-leak"];
  var DEFAULT_DURATION = 0.7;
  var DEFAULT_EASE = "power2.inOut";

  function check(scenes, transitions) {
    if (scenes.length !== transitions.length + 1) {
      throw new Error("[HyperShader] init(): expected scenes.length === transitions.length + 1, got scenes=" +
        scenes.length + ", transitions=" + transitions.length);
    }
    var missing = scenes.filter(function (id) { return !document.getElementById(id); });
    if (missing.length) {
      throw new Error("[HyperShader] init(): scene ids not found in DOM: " + missing.join(", "));
    }
    var notScenes = scenes.filter(function (id) {
      return !document.getElementById(id).classList.contains("scene");
    });
    if (notScenes.length) {
      throw new Error("[HyperShader] init(): elements found but missing .scene class: " + notScenes.join(", "));
    }
  }

  function init(config) {
    var scenes = config.scenes || [];
    var transitions = config.transitions || [];
    check(scenes, transitions);
    if (window.__hf) {
      window.__hf.transitions = transitions.map(function (t, i) {
        return {
          time: t.time,
          duration: t.duration == null ? DEFAULT_DURATION : t.duration,
          shader: t.shader,
          ease: t.ease == null ? DEFAULT_EASE : t.ease,
          fromScene: scenes[i],
          toScene: scenes[i + 1]
        };
      });
    }
    var root = document.querySelector("[data-composition-id]");
    var id = config.compositionId || (root && root.getAttribute("data-composition-id")) || "main";
    var scene = function (sceneId) { return document.getElementById(sceneId); };
    var tl = config.timeline || window.gsap.timeline({ paused: true });
    if (config.timeline) {
      // As the library: the given timeline spans the composition (40 s without a duration).
      var length = Number((root && root.getAttribute("data-duration")) || "40");
      tl.to({ t: 0 }, { t: 1, duration: length, ease: "none" }, 0);
    }
    for (var i = 1; i < scenes.length; i++) tl.set(scene(scenes[i]), { opacity: 0 }, 0);
    transitions.forEach(function (t, i) {
      var from = scene(scenes[i]);
      var to = scene(scenes[i + 1]);
      var duration = t.duration == null ? DEFAULT_DURATION : t.duration;
      var ease = t.ease == null ? DEFAULT_EASE : t.ease;
      if (t.shader === undefined) {
        tl.fromTo(to, { opacity: 0 }, { opacity: 1, duration: duration, ease: ease }, t.time);
        tl.fromTo(from, { opacity: 1 }, { opacity: 0, duration: duration, ease: ease }, t.time);
      } else {
        tl.set(to, { opacity: 1 }, t.time);
        tl.set(from, { opacity: 0 }, t.time + duration);
      }
    });
    if (!config.timeline) {
      window.__timelines = window.__timelines || {};
      window.__timelines[id] = tl;
    }
    return tl;
  }

  window.HyperShader = { init: init, SHADER_NAMES: SHADER_NAMES.slice() };
})();
