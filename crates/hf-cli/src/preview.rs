//! `hf preview`: serve the project in a local player with live reload until Ctrl-C.

use crate::report::print_line;
use clap::Args;
use hf_preview::{Preview, PreviewOptions};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The flags of `hf preview`.
#[derive(Args)]
pub(crate) struct PreviewArgs {
    /// Project directory holding index.html.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Preview this page of the project instead of index.html.
    #[arg(short = 'c', long)]
    composition: Option<PathBuf>,
    /// The first port to try (the next 100 are tried when it is taken; 0: any free port).
    #[arg(long, default_value_t = 3002)]
    port: u16,
    /// The address to listen on (only this machine by default).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Initial variable values, a JSON object (editable in the player).
    #[arg(long)]
    variables: Option<String>,
    /// Open the player in the default browser (xdg-open).
    #[arg(long)]
    open: bool,
}

/// Serve until SIGINT/SIGTERM sets `cancel`.
pub(crate) fn run(args: &PreviewArgs, cancel: Arc<AtomicBool>) -> anyhow::Result<()> {
    let variables = match &args.variables {
        None => None,
        Some(text) => Some(
            hf_engine::RenderJob::new(&args.dir)
                .variables_json(text)?
                .variables
                .unwrap_or_default(),
        ),
    };
    let options = PreviewOptions {
        project_dir: args.dir.clone(),
        composition: args.composition.clone(),
        variables,
        host: args.host,
        port: args.port,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let preview = Preview::bind(options).await?;
        let url = format!("http://{}/", preview.address()?);
        print_line(&format!(
            "hf preview: {} at {url} (Ctrl-C stops)",
            args.dir.display()
        ));
        if args.open {
            let opened = std::process::Command::new("xdg-open").arg(&url).spawn();
            if opened.is_err() {
                print_line("hf preview: could not run xdg-open; open the address yourself");
            }
        }
        preview
            .serve(async move {
                while !cancel.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .await?;
        anyhow::Ok(())
    })
}
