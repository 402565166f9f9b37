//! `hf cache`: the remote asset cache (scripts, stylesheets and fonts named by URL).

use crate::report::print_line;
use anyhow::Context as _;
use clap::Subcommand;
use hf_engine::AssetCache;
use std::path::PathBuf;

/// `hf cache` subcommands.
#[derive(Subcommand)]
pub(crate) enum CacheCommand {
    /// Store a local file as the content of a URL, so renders that name the URL work offline.
    Import {
        /// The URL as the composition writes it.
        url: String,
        /// The file holding its content.
        file: PathBuf,
    },
    /// Print the cache directory.
    Dir,
}

/// Run `command` on the default cache (`HF_CACHE_DIR`, else `~/.cache/hf`).
pub(crate) fn run(command: CacheCommand) -> anyhow::Result<()> {
    let cache = AssetCache::at(AssetCache::default_dir());
    match command {
        CacheCommand::Import { url, file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            cache
                .put(&url, &bytes)
                .with_context(|| format!("cannot write the cache {}", cache.dir().display()))?;
            print_line(&format!(
                "cached {url} ({} bytes) in {}",
                bytes.len(),
                cache.dir().display()
            ));
        }
        CacheCommand::Dir => print_line(&cache.dir().display().to_string()),
    }
    Ok(())
}
