//! The audio stage: decode every sounding element's source, place it on the render timeline
//! and mix to one 48 kHz stereo track whose length is exactly the video's.

use crate::EncodeError;
use ffmpeg_next::{filter, format, frame, media, ChannelLayout};
use hf_audio_fx::Fx;
use hf_core::IoError;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The sample rate of every mixed track.
pub const AUDIO_RATE: u32 = 48_000;

/// Largest `data-volume` (+12 dB), as HyperFrames clamps it.
pub const MAX_VOLUME: f64 = hf_audio_fx::MAX_GAIN;

/// One element that sounds: where its source plays on the render timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioTrack {
    /// The element, for error messages (its id).
    pub element: String,
    /// The source file.
    pub source: PathBuf,
    /// Render time at which the element starts sounding, in seconds.
    pub start_seconds: f64,
    /// How long it sounds on the render timeline, in seconds.
    pub duration_seconds: f64,
    /// Source time heard at the start (`data-media-start`), in seconds.
    pub media_start: f64,
    /// Playback rate (pitch preserved), clamped as [`hf_core::playback_rate`] does.
    pub rate: f64,
    /// Linear gain (`data-volume`), clamped to 0..`MAX_VOLUME` (+12 dB).
    pub volume: f64,
    /// The source repeats until the slot ends.
    pub looped: bool,
    /// A GSAP-animated volume: the linear gain at each render frame (frame `i` at `i / fps` s
    /// on the render timeline), linearly interpolated between frames. Replaces `volume`.
    #[serde(default)]
    pub envelope: Option<VolumeEnvelope>,
    /// Linear fade in and fade out at the ends of the slot (`data-fade-in` /
    /// `data-fade-out`), in seconds; 0 for none. Scaled down together when they overlap.
    #[serde(default)]
    pub fades: [f64; 2],
    /// Effects (`data-fx-chain` and its lanes): run on the decoded slot before the gain, the
    /// track then rings on for their tail.
    #[serde(default)]
    pub fx: Option<TrackFx>,
    /// The audio group whose bus the track feeds instead of the mix (`data-audio-group`).
    #[serde(default)]
    pub group: Option<String>,
}

/// A track's effects and where its lanes' clock stands at its first sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackFx {
    /// The chain and its lanes.
    pub fx: Fx,
    /// Seconds since the clip began at the track's first sample (a clip that opens before the
    /// render starts is heard from part way in).
    pub clock_start: f64,
}

/// An `<hf-audio-group>` bus: its members summed over the whole render, then its effects
/// (lanes on the render's clock) and its gain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioBus {
    /// The group id members name.
    pub id: String,
    /// Linear gain (`data-volume`), clamped to 0..`MAX_VOLUME`.
    pub volume: f64,
    /// A `volume` lane: the gain at each render frame. Replaces `volume`.
    pub envelope: Option<VolumeEnvelope>,
    /// The group's `data-fx-chain` and lanes.
    pub fx: Option<Fx>,
}

impl AudioTrack {
    /// The fade gain at `tau` seconds into the slot: `clamp01(tau / in) * clamp01((D - tau) /
    /// out)`, both lengths scaled by `D / (in + out)` when longer than the slot `D`.
    pub fn fade_at(&self, tau: f64) -> f64 {
        let d = self.duration_seconds;
        let [mut fade_in, mut fade_out] =
            self.fades
                .map(|f| if f.is_finite() { f.max(0.0) } else { 0.0 });
        if fade_in + fade_out > d && d > 0.0 {
            let scale = d / (fade_in + fade_out);
            fade_in *= scale;
            fade_out *= scale;
        }
        let mut gain = 1.0;
        if fade_in > 0.0 {
            gain *= (tau / fade_in).clamp(0.0, 1.0);
        }
        if fade_out > 0.0 {
            gain *= ((d - tau) / fade_out).clamp(0.0, 1.0);
        }
        gain
    }
}

/// Gain samples on the render's frame grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeEnvelope {
    /// Render frame rate of the samples.
    pub fps: f64,
    /// Gain at frame 0, 1, 2, ...
    pub gains: Vec<f32>,
}

impl VolumeEnvelope {
    /// Gain at render time `seconds`, linearly interpolated; held past either end.
    pub fn gain_at(&self, seconds: f64) -> f32 {
        let Some(&last) = self.gains.last() else {
            return 1.0;
        };
        let position = (seconds * self.fps).max(0.0);
        let index = position.floor() as usize;
        if index + 1 >= self.gains.len() {
            return last;
        }
        let fraction = (position - index as f64) as f32;
        self.gains[index] + (self.gains[index + 1] - self.gains[index]) * fraction
    }
}

/// Input of [`audio_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AudioMixInput {
    /// Every sounding element.
    pub tracks: Vec<AudioTrack>,
    /// The audio groups tracks feed.
    #[serde(default)]
    pub groups: Vec<AudioBus>,
    /// The master bus: the root composition's `data-fx-chain`, run over the whole mix.
    #[serde(default)]
    pub master: Option<Fx>,
    /// Length of the mix in samples per channel (the video's duration at [`AUDIO_RATE`]).
    pub samples: u64,
    /// Where the mix is written: raw interleaved stereo `f32` little-endian PCM.
    pub output: PathBuf,
}

/// Result of [`audio_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AudioMixOutput {
    /// The raw PCM mix (interleaved stereo f32le at [`AUDIO_RATE`]).
    pub path: PathBuf,
    /// Samples per channel.
    pub samples: u64,
    /// Largest absolute sample before limiting (after any true-peak lowering).
    pub peak: f32,
    /// Samples that exceeded full scale and were limited.
    pub clipped_samples: u64,
    /// How far the whole mix was lowered to keep its true peak under -1 dBTP, in dB (0: not).
    #[serde(default)]
    pub lowered_db: f64,
}

/// The true peak a delivered mix may reach, dBTP (HyperFrames 0.8's AAC delivery ceiling).
pub const TRUE_PEAK_CEILING_DB: f64 = -1.0;

/// Where a mix over the ceiling is lowered to, dBTP (the ceiling less 0.5 dB of headroom).
const TRUE_PEAK_TARGET_DB: f64 = -1.5;

/// Decode, place and mix `input.tracks`. Tracks are summed (no normalisation); a mix whose true
/// peak is over -1 dBTP is lowered as a whole to -1.5 dBTP (as HyperFrames 0.8 lowers its AAC);
/// samples still beyond full scale are limited to it.
pub fn audio_stage(input: &AudioMixInput) -> Result<AudioMixOutput, EncodeError> {
    crate::init();
    let _span = tracing::info_span!("audio", tracks = input.tracks.len()).entered();
    let total = input.samples as usize;
    let decoded: Vec<(usize, Vec<f32>)> = input
        .tracks
        .par_iter()
        .map(|track| {
            let mut samples = decode_track(track)?;
            if let Some(fx) = &track.fx {
                let _span = tracing::debug_span!("fx", element = %track.element).entered();
                samples = fx.fx.process(&samples, 2, AUDIO_RATE, fx.clock_start);
            }
            let offset = (track.start_seconds.max(0.0) * f64::from(AUDIO_RATE)).round() as usize;
            apply_gain(track, offset, &mut samples);
            Ok((offset, samples))
        })
        .collect::<Result<_, EncodeError>>()?;
    let mut mix = vec![0f32; total * 2];
    let mut buses: Vec<Vec<f32>> = vec![Vec::new(); input.groups.len()];
    for (track, (offset, samples)) in input.tracks.iter().zip(decoded) {
        let bus = track
            .group
            .as_ref()
            .and_then(|id| input.groups.iter().position(|g| &g.id == id));
        let target = match bus {
            Some(index) => {
                buses[index].resize(total * 2, 0.0);
                &mut buses[index]
            }
            None => &mut mix,
        };
        add_at(target, offset, &samples);
    }
    for (group, bus) in input.groups.iter().zip(buses) {
        add_at(&mut mix, 0, &bus_output(group, bus));
    }
    if let Some(master) = &input.master {
        // HyperFrames writes the master bus's output as 16-bit: held to full scale.
        mix = master.process(&mix, 2, AUDIO_RATE, 0.0);
        mix.truncate(total * 2);
        hold_to_full_scale(&mut mix);
    }
    let lowered_db = guard_true_peak(&mut mix, &input.output)?;
    let (peak, clipped) = limit(&mut mix);
    let bytes: Vec<u8> = mix.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(&input.output, bytes).map_err(IoError::with("write", &input.output))?;
    Ok(AudioMixOutput {
        path: input.output.clone(),
        samples: input.samples,
        peak,
        clipped_samples: clipped,
        lowered_db,
    })
}

/// A mix whose own true peak is at most this (dBTP) cannot end over the ceiling once
/// encoded (AAC adds well under 2 dB of overshoot), so it is not trial-encoded.
const TRUE_PEAK_SKIP_DB: f64 = -3.0;

/// Corrections tried before giving up, as HyperFrames tries.
const TRUE_PEAK_PASSES: usize = 3;

/// Lower `mix` as a whole, as HyperFrames 0.8 lowers its AAC: while the true peak of the
/// encoded audio is over [`TRUE_PEAK_CEILING_DB`] (read to 0.1 dB, as HyperFrames reads
/// ffmpeg's), by the dB that bring it to [`TRUE_PEAK_TARGET_DB`], at most
/// [`TRUE_PEAK_PASSES`] times. `scratch` names the trial encode's files. Returns the dB
/// lowered (0 when under the ceiling).
fn guard_true_peak(mix: &mut [f32], scratch: &Path) -> Result<f64, EncodeError> {
    // Inter-sample peaks rise well under 3 dB above the samples of real audio: a quiet mix
    // needs no measuring at all.
    let sample_peak = mix.iter().fold(0f32, |m, s| m.max(s.abs()));
    if rounded_db(f64::from(sample_peak)) <= TRUE_PEAK_SKIP_DB - 3.0
        || rounded_db(true_peak(mix)?) <= TRUE_PEAK_SKIP_DB
    {
        return Ok(0.0);
    }
    let mut lowered = 0.0;
    for pass in 0..=TRUE_PEAK_PASSES {
        let gain = 10f64.powf(-lowered / 20.0);
        let scaled: Vec<f32> = mix.iter().map(|s| (f64::from(*s) * gain) as f32).collect();
        let peak_db = aac_true_peak_db(&scaled, scratch)?;
        tracing::debug!(pass, peak_db, lowered, "true peak of the encoded audio");
        if peak_db <= TRUE_PEAK_CEILING_DB {
            break;
        }
        if pass == TRUE_PEAK_PASSES {
            tracing::warn!(peak_db, "the audio's true peak stays over -1 dBTP");
            break;
        }
        lowered += peak_db - TRUE_PEAK_TARGET_DB;
    }
    if lowered > 0.0 {
        let gain = 10f64.powf(-lowered / 20.0);
        mix.iter_mut()
            .for_each(|s| *s = (f64::from(*s) * gain) as f32);
        tracing::info!(
            lowered_db = lowered,
            "audio lowered by {lowered:.2} dB to stay under -1 dBTP"
        );
    }
    Ok(lowered)
}

/// A linear peak in dB, to 0.1 dB.
fn rounded_db(peak: f64) -> f64 {
    if peak <= 0.0 {
        return f64::NEG_INFINITY;
    }
    (20.0 * peak.log10() * 10.0).round() / 10.0
}

/// The true peak (dBTP, to 0.1 dB) of `mix` once encoded as the output encodes it (AAC-LC
/// 192 kb/s) and decoded again; the trial files beside `scratch` are removed.
fn aac_true_peak_db(mix: &[f32], scratch: &Path) -> Result<f64, EncodeError> {
    let raw = scratch.with_extension("true-peak.f32");
    let encoded = scratch.with_extension("true-peak.m4a");
    let measured = (|| {
        let bytes: Vec<u8> = mix.iter().flat_map(|s| s.to_le_bytes()).collect();
        std::fs::write(&raw, bytes).map_err(IoError::with("write", &raw))?;
        crate::sequence::write_audio_file(&raw, &encoded)?;
        let seconds = mix.len() as f64 / 2.0 / f64::from(AUDIO_RATE) + 1.0;
        true_peak(&crate::inspect::decode_audio(&encoded, seconds)?)
    })();
    let _ = std::fs::remove_file(&raw);
    let _ = std::fs::remove_file(&encoded);
    Ok(rounded_db(measured?))
}

/// The true peak of interleaved stereo `mix` (linear): the largest sample of the signal
/// oversampled 4x, as libav's `ebur128=peak=true` measures it.
fn true_peak(mix: &[f32]) -> Result<f64, EncodeError> {
    let failed =
        |what: &'static str| EncodeError::libav(format!("{what} to measure the true peak"));
    let mut graph = filter::Graph::new();
    let args = format!(
        "time_base=1/{AUDIO_RATE}:sample_rate={AUDIO_RATE}:sample_fmt=flt:channel_layout=stereo"
    );
    graph
        .add(
            &filter::find("abuffer").expect("abuffer filter"),
            "in",
            &args,
        )
        .map_err(failed("create an audio source"))?;
    graph
        .add(
            &filter::find("abuffersink").expect("abuffersink filter"),
            "out",
            "",
        )
        .map_err(failed("create an audio sink"))?;
    graph
        .output("in", 0)
        .and_then(|p| p.input("out", 0))
        .and_then(|p| p.parse("ebur128=peak=true:metadata=1"))
        .and_then(|()| graph.validate())
        .map_err(failed("build the ebur128 filter"))?;
    const CHUNK: usize = 4800;
    let mut peak = 0f64;
    let mut measured = frame::Audio::empty();
    let mut drain = |graph: &mut filter::Graph, peak: &mut f64| {
        let mut sink = graph.get("out").expect("sink exists");
        while sink.sink().frame(&mut measured).is_ok() {
            let value = measured
                .metadata()
                .get("lavfi.r128.true_peak")
                .and_then(|v| v.parse().ok());
            *peak = peak.max(value.unwrap_or(0.0));
        }
    };
    for (index, chunk) in mix.chunks(CHUNK * 2).enumerate() {
        let mut frame = frame::Audio::new(
            format::Sample::F32(format::sample::Type::Packed),
            chunk.len() / 2,
            ChannelLayout::STEREO,
        );
        frame.set_rate(AUDIO_RATE);
        frame.set_pts(Some((index * CHUNK) as i64));
        for (out, pair) in frame
            .plane_mut::<(f32, f32)>(0)
            .iter_mut()
            .zip(chunk.chunks_exact(2))
        {
            *out = (pair[0], pair[1]);
        }
        graph
            .get("in")
            .expect("source exists")
            .source()
            .add(&frame)
            .map_err(failed("feed the mix"))?;
        drain(&mut graph, &mut peak);
    }
    graph
        .get("in")
        .expect("source exists")
        .source()
        .flush()
        .map_err(failed("flush the mix"))?;
    drain(&mut graph, &mut peak);
    Ok(peak)
}

/// Add `samples` into `mix` from interleaved sample pair `offset` on, cut at the mix's end.
fn add_at(mix: &mut [f32], offset: usize, samples: &[f32]) {
    let begin = (offset * 2).min(mix.len());
    for (out, sample) in mix[begin..].iter_mut().zip(samples) {
        *out += sample;
    }
}

/// A group's summed members (empty when none sounded) through its effects and gain. As in
/// HyperFrames, the sum is held to full scale (its 16-bit sub-mix), and so is the result of
/// effects or a volume lane; the static volume applies after that.
fn bus_output(group: &AudioBus, mut bus: Vec<f32>) -> Vec<f32> {
    if bus.is_empty() {
        return bus;
    }
    hold_to_full_scale(&mut bus);
    if let Some(fx) = &group.fx {
        bus = fx.process(&bus, 2, AUDIO_RATE, 0.0);
    }
    if let Some(envelope) = &group.envelope {
        scale(&mut bus, 0, |seconds| {
            clamp_gain(f64::from(envelope.gain_at(seconds)))
        });
    }
    if group.fx.is_some() || group.envelope.is_some() {
        hold_to_full_scale(&mut bus);
    }
    if group.envelope.is_none() {
        let volume = clamp_gain(group.volume);
        bus.iter_mut().for_each(|s| *s *= volume);
    }
    bus
}

/// Limit every sample to full scale: the peak before, and how many samples were over.
fn limit(mix: &mut [f32]) -> (f32, u64) {
    let mut peak = 0f32;
    let mut clipped = 0u64;
    for sample in mix.iter_mut() {
        peak = peak.max(sample.abs());
        if sample.abs() > 1.0 {
            clipped += 1;
            *sample = sample.clamp(-1.0, 1.0);
        }
    }
    if clipped > 0 {
        tracing::warn!(
            clipped,
            peak,
            "the mix exceeds full scale; samples were limited"
        );
    }
    (peak, clipped)
}

/// A gain clamped to 0..[`MAX_VOLUME`]; 1 when not a number.
fn clamp_gain(gain: f64) -> f32 {
    if gain.is_finite() {
        gain.clamp(0.0, MAX_VOLUME) as f32
    } else {
        1.0
    }
}

/// Multiply each stereo pair of `samples`, placed at pair `offset` of the render, by the gain
/// at its render time.
fn scale(samples: &mut [f32], offset: usize, gain_at: impl Fn(f64) -> f32) {
    for (i, pair) in samples.chunks_exact_mut(2).enumerate() {
        let gain = gain_at((offset + i) as f64 / f64::from(AUDIO_RATE));
        pair[0] *= gain;
        pair[1] *= gain;
    }
}

/// Scale a track placed at sample `offset` as HyperFrames does: a track whose samples it
/// rewrites (effects, a volume envelope) gets its envelope baked in and is then held to full
/// scale, as the 16-bit file HyperFrames writes holds it; its static volume (when it has no
/// envelope) and its fades apply after that, in the mix (silent after a fade-out, effect tail
/// included).
fn apply_gain(track: &AudioTrack, offset: usize, samples: &mut [f32]) {
    if track.fx.is_some() || track.envelope.is_some() {
        if let Some(envelope) = &track.envelope {
            scale(samples, offset, |seconds| {
                clamp_gain(f64::from(envelope.gain_at(seconds)))
            });
        }
        hold_to_full_scale(samples);
    }
    let volume = match track.envelope {
        Some(_) => 1.0,
        None => clamp_gain(track.volume),
    };
    if track.fades.iter().any(|f| *f > 0.0) {
        scale(samples, offset, |seconds| {
            volume * track.fade_at(seconds - track.start_seconds) as f32
        });
    } else if volume != 1.0 {
        samples.iter_mut().for_each(|s| *s *= volume);
    }
}

/// Clamp every sample to -1..1.
fn hold_to_full_scale(samples: &mut [f32]) {
    samples.iter_mut().for_each(|s| *s = s.clamp(-1.0, 1.0));
}

/// `atempo` accepts 0.5..2 per instance; chain instances for other rates.
fn atempo_chain(rate: f64) -> Vec<String> {
    let mut stages = Vec::new();
    let mut left = rate;
    while left > 2.0 {
        stages.push("atempo=2".to_string());
        left /= 2.0;
    }
    while left < 0.5 {
        stages.push("atempo=0.5".to_string());
        left /= 0.5;
    }
    if (left - 1.0).abs() > 1e-9 {
        stages.push(format!("atempo={left:.9}"));
    }
    stages
}

/// A libav failure while decoding `track`, naming the element and its file.
fn track_error(track: &AudioTrack, what: &str) -> impl FnOnce(ffmpeg_next::Error) -> EncodeError {
    EncodeError::libav(format!(
        "{what} for <{}> ({})",
        track.element,
        track.source.display()
    ))
}

/// Decode one track: its source from the media start, tempo-changed, at 48 kHz stereo
/// (mono sources on both channels at full level), exactly as long as its slot.
pub(crate) fn decode_track(track: &AudioTrack) -> Result<Vec<f32>, EncodeError> {
    let mut input = format::input(&track.source).map_err(track_error(track, "open audio"))?;
    let stream =
        input
            .streams()
            .best(media::Type::Audio)
            .ok_or_else(|| EncodeError::NoAudioStream {
                path: track.source.clone(),
            })?;
    let (index, time_base) = (stream.index(), stream.time_base());
    let start = crate::streams::stream_start(&stream);
    let mut decoder = ffmpeg_next::codec::context::Context::from_parameters(stream.parameters())
        .map_err(track_error(track, "read audio parameters"))?
        .decoder()
        .audio()
        .map_err(track_error(track, "open the audio decoder"))?;
    let slot_samples = (track.duration_seconds.max(0.0) * f64::from(AUDIO_RATE)).round() as usize;
    let mut graph: Option<filter::Graph> = None;
    let mut out = Vec::<f32>::with_capacity(slot_samples * 2);
    let mut decoded = frame::Audio::empty();
    let mut filtered = frame::Audio::empty();
    crate::streams::seek_before(&mut input, track.media_start);
    for (packet_stream, packet) in input.packets() {
        if packet_stream.index() != index {
            continue;
        }
        if decoder.send_packet(&packet).is_err() {
            continue;
        }
        while decoder.receive_frame(&mut decoded).is_ok() {
            if graph.is_none() {
                graph = Some(track_filter(track, &decoder, time_base)?);
            }
            let g = graph.as_mut().expect("graph was just built");
            let pts = decoded.timestamp().map(|ts| ts - start);
            decoded.set_pts(pts);
            g.get("in")
                .expect("source exists")
                .source()
                .add(&decoded)
                .map_err(track_error(track, "filter audio"))?;
            drain_filter(g, &mut filtered, &mut out);
        }
        if !track.looped && out.len() >= slot_samples * 2 {
            break;
        }
    }
    let _ = decoder.send_eof();
    while decoder.receive_frame(&mut decoded).is_ok() {
        if let Some(g) = graph.as_mut() {
            let pts = decoded.timestamp().map(|ts| ts - start);
            decoded.set_pts(pts);
            let _ = g.get("in").expect("source exists").source().add(&decoded);
            drain_filter(g, &mut filtered, &mut out);
        }
    }
    if let Some(g) = graph.as_mut() {
        let _ = g.get("in").expect("source exists").source().flush();
        drain_filter(g, &mut filtered, &mut out);
    }
    fit_to_slot(&mut out, track.looped, slot_samples);
    Ok(out)
}

/// The filter graph that turns `decoder`'s frames into the track's samples: trimmed at the
/// media start (and to the source span the slot consumes, unless looping: the loop is tiled
/// afterwards), mono on both channels, 48 kHz interleaved stereo float, tempo-changed.
fn track_filter(
    track: &AudioTrack,
    decoder: &ffmpeg_next::decoder::Audio,
    time_base: ffmpeg_next::Rational,
) -> Result<filter::Graph, EncodeError> {
    let rate = hf_core::playback_rate(track.rate);
    let mut layout = decoder.channel_layout();
    if layout.is_empty() {
        layout = ChannelLayout::default(i32::from(decoder.channels()));
    }
    let args = format!(
        "time_base={}/{}:sample_rate={}:sample_fmt={}:channel_layout=0x{:x}",
        time_base.numerator(),
        time_base.denominator(),
        decoder.rate(),
        decoder.format().name(),
        layout.bits()
    );
    let mut g = filter::Graph::new();
    g.add(
        &filter::find("abuffer").expect("abuffer filter"),
        "in",
        &args,
    )
    .map_err(track_error(track, "create the audio source"))?;
    g.add(
        &filter::find("abuffersink").expect("abuffersink filter"),
        "out",
        "",
    )
    .map_err(track_error(track, "create the audio sink"))?;
    let mut chain = vec![format!("atrim=start={:.9}", track.media_start.max(0.0))];
    if !track.looped {
        let span = track.duration_seconds * rate;
        chain[0].push_str(&format!(":duration={span:.9}"));
    }
    chain.push("asetpts=N/SR/TB".into());
    if decoder.channels() == 1 {
        // Both channels at full level: a plain upmix would lower each by 3 dB.
        chain.push("pan=stereo|c0=c0|c1=c0".into());
    }
    chain.push(format!("aresample={AUDIO_RATE}"));
    chain.push("aformat=sample_fmts=flt:channel_layouts=stereo".into());
    chain.extend(atempo_chain(rate));
    g.output("in", 0)
        .and_then(|p| p.input("out", 0))
        .and_then(|p| p.parse(&chain.join(",")))
        .map_err(track_error(track, "build the audio filter"))?;
    g.validate()
        .map_err(track_error(track, "validate the audio filter"))?;
    Ok(g)
}

/// Append every frame the graph has ready to `out` (interleaved stereo).
fn drain_filter(graph: &mut filter::Graph, filtered: &mut frame::Audio, out: &mut Vec<f32>) {
    let mut sink = graph.get("out").expect("sink exists");
    while sink.sink().frame(filtered).is_ok() {
        let samples = filtered.samples();
        out.extend_from_slice(
            &filtered.plane::<(f32, f32)>(0)[..samples]
                .iter()
                .flat_map(|&(l, r)| [l, r])
                .collect::<Vec<_>>(),
        );
    }
}

/// Make `out` exactly `slot_samples` long: a looping track repeats what it decoded, anything
/// else is cut or padded with silence.
fn fit_to_slot(out: &mut Vec<f32>, looped: bool, slot_samples: usize) {
    if looped && !out.is_empty() {
        let period = out.len();
        while out.len() < slot_samples * 2 {
            let take = (slot_samples * 2 - out.len()).min(period);
            out.extend_from_within(..take);
        }
    }
    out.resize(slot_samples * 2, 0.0);
}

/// Read a raw mix written by [`audio_stage`].
pub fn read_mix(path: &Path) -> Result<Vec<f32>, EncodeError> {
    let bytes = std::fs::read(path).map_err(IoError::with("read", path))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fades_ramp_linearly_and_share_a_short_slot() {
        let mut track = AudioTrack {
            element: "a".into(),
            source: "a.wav".into(),
            start_seconds: 1.0,
            duration_seconds: 4.0,
            media_start: 0.0,
            rate: 1.0,
            volume: 1.0,
            looped: false,
            envelope: None,
            fades: [1.0, 2.0],
            fx: None,
            group: None,
        };
        assert_eq!(track.fade_at(0.0), 0.0);
        assert!((track.fade_at(0.5) - 0.5).abs() < 1e-12);
        assert_eq!(track.fade_at(1.5), 1.0);
        assert!((track.fade_at(3.0) - 0.5).abs() < 1e-12);
        assert_eq!(track.fade_at(4.0), 0.0);
        // 3 + 3 s of fades in a 4 s slot: both scaled to 2 s.
        track.fades = [3.0, 3.0];
        assert!((track.fade_at(1.0) - 0.5).abs() < 1e-12);
        assert!((track.fade_at(3.0) - 0.5).abs() < 1e-12);
        track.fades = [0.0, f64::NAN];
        assert_eq!(track.fade_at(0.0), 1.0);
    }

    #[test]
    fn envelopes_interpolate_between_frames_and_hold_at_the_ends() {
        let envelope = VolumeEnvelope {
            fps: 10.0,
            gains: vec![0.0, 1.0, 0.5],
        };
        assert_eq!(envelope.gain_at(0.0), 0.0);
        assert!((envelope.gain_at(0.05) - 0.5).abs() < 1e-6);
        assert!((envelope.gain_at(0.15) - 0.75).abs() < 1e-6);
        assert_eq!(envelope.gain_at(5.0), 0.5);
        assert_eq!(envelope.gain_at(-1.0), 0.0);
    }

    #[test]
    fn atempo_stages_stay_in_range_and_multiply_to_the_rate() {
        for rate in [0.1, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0] {
            let stages = atempo_chain(rate);
            let product: f64 = stages
                .iter()
                .map(|s| s.trim_start_matches("atempo=").parse::<f64>().unwrap())
                .inspect(|v| assert!((0.5..=2.0).contains(v), "{rate}: {stages:?}"))
                .product();
            assert!((product - rate).abs() < 1e-6, "{rate}: {stages:?}");
        }
        assert!(atempo_chain(1.0).is_empty());
    }
}
