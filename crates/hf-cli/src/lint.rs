//! `hf lint`: static checks that predict a wrong or failed render, each with its rule code,
//! file, line and element, and the fix. Exit 1 on errors (and on warnings with `--strict`).

use crate::report::print_line;
use clap::Args;
use hf_engine::{lint_stage, LintInput, LintReport, Severity};
use serde_json::json;
use std::path::PathBuf;

/// The flags of `hf lint`.
#[derive(Args)]
pub(crate) struct LintArgs {
    /// Project directory holding index.html.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Lint this page of the project (and what it mounts) instead of index.html.
    #[arg(short = 'c', long)]
    composition: Option<PathBuf>,
    /// Print one JSON document (`{ok, errorCount, warningCount, findings, files}`).
    #[arg(long)]
    json: bool,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    strict: bool,
}

/// Lint failed: errors were found (or warnings, with `--strict`).
#[derive(Debug, thiserror::Error)]
#[error("{errors} error(s) and {warnings} warning(s){}", if *.strict { " (--strict fails on warnings)" } else { "" })]
pub(crate) struct LintFailed {
    errors: usize,
    warnings: usize,
    strict: bool,
}

/// Lint the project, print the findings, fail as the flags say.
pub(crate) fn run(args: &LintArgs) -> anyhow::Result<()> {
    let report = lint_stage(&LintInput {
        project_dir: args.dir.clone(),
        composition: args.composition.clone(),
    })?;
    let (errors, warnings) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
    );
    if args.json {
        print_json(&report, errors, warnings);
    } else {
        print_text(&report, &args.dir, errors, warnings);
    }
    if errors > 0 || (args.strict && warnings > 0) {
        return Err(LintFailed {
            errors,
            warnings,
            strict: args.strict,
        }
        .into());
    }
    Ok(())
}

fn print_json(report: &LintReport, errors: usize, warnings: usize) {
    let document = json!({
        "ok": errors == 0,
        "errorCount": errors,
        "warningCount": warnings,
        "findings": report.findings,
        "files": report.files,
    });
    print_line(&document.to_string());
}

fn print_text(report: &LintReport, dir: &std::path::Path, errors: usize, warnings: usize) {
    for finding in &report.findings {
        let mark = match finding.severity {
            Severity::Error => "✗",
            Severity::Warning => "⚠",
        };
        print_line(&format!("{mark} {}", finding.describe(dir)));
        print_line(&format!("    fix: {}", finding.fix));
    }
    print_line(&format!(
        "{errors} error(s), {warnings} warning(s) in {} file(s)",
        report.files.len()
    ));
}
