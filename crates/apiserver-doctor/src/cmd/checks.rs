//! `apiserver-doctor checks`: the checks diagnose runs, in order.

use std::io::Write;
use std::process::ExitCode;

/// Arguments of `apiserver-doctor checks`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the full documentation of every check, with every threshold and the --config
    /// format, as Markdown.
    #[arg(long)]
    pub markdown: bool,
}

/// Runs `apiserver-doctor checks`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if args.markdown {
        out.write_all(checks::checks_markdown().as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let registry = checks::registry();
    let name_width = registry.iter().map(|c| c.name.len()).max().unwrap_or(0).max("NAME".len());
    writeln!(out, "CODE    {:<name_width$}  SEVERITY  WHAT IT FINDS", "NAME")?;
    for c in &registry {
        writeln!(
            out,
            "{}  {:<name_width$}  {:<8}  {}",
            c.code,
            c.name,
            c.default_severity.as_str(),
            checks::registry::summary(c)
        )?;
    }
    writeln!(
        out,
        "\nSEVERITY is what a check reports when its first threshold is crossed; many report critical \
         past a higher threshold or in the worst case (a failing webhook in kube-system, say), and some \
         add information beside them: `apiserver-doctor explain CODE` prints a check's documentation, \
         with its thresholds."
    )?;
    Ok(ExitCode::SUCCESS)
}
