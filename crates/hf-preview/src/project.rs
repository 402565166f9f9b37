//! The previewed project: compiled into numbered generation dirs, the newest one served.

use crate::{PreviewError, PreviewOptions};
use hf_engine::{compile_stage, CompileInput, CompiledComposition};
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::broadcast;

/// One compile of the project.
pub(crate) struct Generation {
    /// 1, 2, ...; the player reloads when it changes.
    pub(crate) number: u64,
    /// Where the compiled page is.
    pub(crate) dir: PathBuf,
    /// The compiled composition, or the error `hf render` would print.
    pub(crate) compiled: Result<CompiledComposition, String>,
    /// The variable values it was compiled with.
    pub(crate) values: Map<String, Value>,
}

/// The project and its newest generation.
pub(crate) struct Project {
    pub(crate) options: PreviewOptions,
    scratch: tempfile::TempDir,
    current: RwLock<Arc<Generation>>,
    values: Mutex<Map<String, Value>>,
    /// One compile at a time.
    compiling: tokio::sync::Mutex<()>,
    /// Generation numbers, as they are published.
    pub(crate) published: broadcast::Sender<u64>,
}

impl Project {
    pub(crate) fn new(options: PreviewOptions) -> Result<Project, PreviewError> {
        let scratch = tempfile::Builder::new().prefix("hf-preview-").tempdir()?;
        let values = options.variables.clone().unwrap_or_default();
        Ok(Project {
            current: RwLock::new(Arc::new(Generation {
                number: 0,
                dir: scratch.path().join("gen-0"),
                compiled: Err("not compiled yet".into()),
                values: values.clone(),
            })),
            options,
            scratch,
            values: Mutex::new(values),
            compiling: tokio::sync::Mutex::new(()),
            published: broadcast::channel(16).0,
        })
    }

    /// The generation being served.
    pub(crate) fn current(&self) -> Arc<Generation> {
        Arc::clone(&self.current.read().expect("generation lock"))
    }

    /// Replace the variable values (and compile with them).
    pub(crate) async fn set_values(&self, values: Map<String, Value>) -> Arc<Generation> {
        *self.values.lock().expect("values lock") = values;
        self.recompile().await
    }

    /// Compile the next generation, serve it, drop the one before the last, and tell the
    /// players.
    pub(crate) async fn recompile(&self) -> Arc<Generation> {
        let _one_at_a_time = self.compiling.lock().await;
        let number = self.current().number + 1;
        let dir = self.scratch.path().join(format!("gen-{number}"));
        let values = self.values.lock().expect("values lock").clone();
        let mut input = CompileInput::new(&self.options.project_dir, &dir);
        input.composition = self.options.composition.clone();
        input.variables = (!values.is_empty()).then(|| values.clone());
        input.allow_missing_assets = true;
        let compiled = tokio::task::spawn_blocking(move || compile_stage(&input))
            .await
            .map_err(|e| e.to_string())
            .and_then(|result| result.map_err(|e| format!("error[{}]: {e}", e.code())));
        if let Err(error) = &compiled {
            tracing::warn!("preview: {error}");
        }
        let generation = Arc::new(Generation {
            number,
            dir,
            compiled,
            values,
        });
        *self.current.write().expect("generation lock") = Arc::clone(&generation);
        let stale = self
            .scratch
            .path()
            .join(format!("gen-{}", number.saturating_sub(2)));
        let _ = std::fs::remove_dir_all(stale);
        let _ = self.published.send(number);
        generation
    }

    /// What the player needs to know about `generation`, as JSON.
    pub(crate) fn describe(&self, generation: &Generation) -> Value {
        let project = self.options.project_dir.display().to_string();
        let mut command = format!("hf render {}", shell_quote(&project));
        if let Some(page) = &self.options.composition {
            command.push_str(&format!(" -c {}", shell_quote(&page.display().to_string())));
        }
        if !generation.values.is_empty() {
            let values = Value::Object(generation.values.clone()).to_string();
            command.push_str(&format!(" --variables {}", shell_quote(&values)));
        }
        let base = json!({
            "generation": generation.number,
            "project": project,
            "renderCommand": command,
            "values": generation.values,
        });
        let Value::Object(mut out) = base else {
            unreachable!("a JSON object")
        };
        match &generation.compiled {
            Ok(c) => {
                let fps = c.fps_hint.map_or(30.0, |f| f.as_f64());
                out.insert("ok".into(), json!(true));
                out.insert("width".into(), json!(c.width));
                out.insert("height".into(), json!(c.height));
                out.insert("fps".into(), json!(fps));
                out.insert("duration".into(), json!(c.static_duration));
                out.insert("clips".into(), json!(c.clips));
                out.insert("compositions".into(), json!(c.compositions));
                out.insert("variables".into(), json!(c.variables));
                out.insert("warnings".into(), json!(c.warnings));
            }
            Err(error) => {
                out.insert("ok".into(), json!(false));
                out.insert("error".into(), json!(error));
            }
        }
        Value::Object(out)
    }
}

/// `text` quoted for a POSIX shell when it needs it.
fn shell_quote(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:=,".contains(c));
    if plain && !text.is_empty() {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("examples/hello"), "examples/hello");
        assert_eq!(shell_quote(r#"{"a":"it's"}"#), r#"'{"a":"it'\''s"}'"#);
    }
}
