//! The compile stage: what the compiled page looks like, and its errors.

use hf_engine::{compile_stage, CompileInput, Fps, RenderError};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
        .join("src")
}

fn compile_html(
    project: &Path,
    variables: Option<serde_json::Value>,
) -> Result<(String, hf_engine::CompiledComposition), RenderError> {
    let work = tempfile::tempdir().unwrap();
    let mut input = CompileInput::new(project, work.path());
    if let Some(variables) = variables {
        input = input.variables(variables.as_object().unwrap().clone());
    }
    let compiled = compile_stage(&input)?;
    let html = std::fs::read_to_string(&compiled.html_path).unwrap();
    assert_eq!(
        std::fs::read_to_string(work.path().join(hf_capture::RUNTIME_FILE)).unwrap(),
        hf_capture::RUNTIME_JS
    );
    Ok((html, compiled))
}

fn project_with(index: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), index).unwrap();
    dir
}

#[test]
fn compiled_page_injects_the_runtime_first_in_head() {
    let (html, compiled) = compile_html(&fixture("clip-windows"), None).unwrap();
    insta::assert_snapshot!("clip_windows_compiled", html);
    assert_eq!(compiled.root_id, "clips");
    assert_eq!((compiled.width, compiled.height), (640, 360));
    assert_eq!(compiled.static_duration, Some(2.0));
    assert_eq!(compiled.fps_hint, None);
}

#[test]
fn fragments_are_wrapped_and_variables_are_injected_before_page_scripts() {
    let project = project_with(
        r#"<div data-composition-id="frag" data-width="320" data-height="180" data-duration="1.5" data-fps="30000/1001"><p>hi</p></div>
<script>window.seen = window.__hfVariables;</script>"#,
    );
    let (html, compiled) = compile_html(
        project.path(),
        Some(serde_json::json!({"title": "</script><b>x", "n": 3})),
    )
    .unwrap();
    insta::assert_snapshot!("fragment_with_variables_compiled", html);
    assert_eq!(
        compiled.fps_hint,
        Some(Fps {
            num: 30000,
            den: 1001
        })
    );
    assert_eq!(compiled.static_duration, Some(1.5));
}

#[test]
fn the_explicit_root_wins_over_document_order_and_sizes_default_to_1080x1920() {
    let project = project_with(
        r#"<html><body><div data-composition-id="first"></div><div data-composition-id="chosen" data-root="true"></div></body></html>"#,
    );
    let (_, compiled) = compile_html(project.path(), None).unwrap();
    assert_eq!(compiled.root_id, "chosen");
    assert_eq!((compiled.width, compiled.height), (1080, 1920));
    assert_eq!(compiled.static_duration, None);
}

#[test]
fn bad_projects_fail_with_messages_that_name_the_file_and_the_fix() {
    let missing = Path::new("/nonexistent/hf-project");
    let err = compile_html(missing, None).unwrap_err();
    assert_eq!(err.code(), "PROJECT_NOT_FOUND");
    assert_eq!(
        err.to_string(),
        "project directory /nonexistent/hf-project does not exist; pass the folder that holds index.html"
    );

    let empty = tempfile::tempdir().unwrap();
    let err = compile_html(empty.path(), None).unwrap_err();
    assert_eq!(err.code(), "INDEX_HTML_NOT_FOUND");
    assert_eq!(
        err.to_string(),
        format!(
            "{} not found; a HyperFrames project needs an index.html at its top level",
            empty.path().join("index.html").display()
        )
    );

    let no_root = project_with("<html><body><div id=x></div></body></html>");
    let err = compile_html(no_root.path(), None).unwrap_err();
    assert_eq!(err.code(), "NO_COMPOSITION_ROOT");
    assert!(
        err.to_string().contains("add data-composition-id=\"main\""),
        "{err}"
    );

    let fractional = project_with(
        r#"<div data-composition-id="odd" data-width="640.5" data-height="360"></div>"#,
    );
    let err = compile_html(fractional.path(), None).unwrap_err();
    assert_eq!(err.code(), "INVALID_ATTRIBUTE");
    assert!(
        err.to_string().ends_with(
            "element \"odd\" has data-width=\"640.5\"; expected a whole number of pixels between 1 and 16384"
        ),
        "{err}"
    );

    let bad_fps = project_with(r#"<div data-composition-id="r" data-fps="fast"></div>"#);
    let err = compile_html(bad_fps.path(), None).unwrap_err();
    assert!(err.to_string().contains("has data-fps=\"fast\""), "{err}");
}

#[test]
fn sub_compositions_are_inlined_scoped_and_their_cdn_scripts_localised() {
    // Seed a private asset cache with GSAP under its CDN URL, as `hf cache import` does.
    let cache = tempfile::tempdir().unwrap();
    let gsap = std::fs::read(fixture("gsap-move").join("gsap.min.js")).unwrap();
    hf_engine::AssetCache::at(cache.path())
        .put(
            "https://cdn.jsdelivr.net/npm/gsap@3.15.0/dist/gsap.min.js",
            &gsap,
        )
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let compiled = compile_stage(
        &CompileInput::new(fixture("subcomp-t0"), work.path()).asset_cache(cache.path()),
    )
    .unwrap();
    let html = std::fs::read_to_string(&compiled.html_path).unwrap();
    insta::assert_snapshot!("subcomp_t0_compiled", html);
    assert_eq!(compiled.inlined_files.len(), 2, "one file, mounted twice");
    assert!(
        !html.contains("cdn.jsdelivr.net"),
        "scripts are served locally"
    );
    let local: Vec<_> = std::fs::read_dir(work.path().join("__hf_assets"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(local, vec![gsap], "GSAP is written once, content-addressed");
}
