//! `apiserver-doctor explain CODE`: a check's documentation.

use std::io::Write;
use std::process::ExitCode;

/// Arguments of `apiserver-doctor explain`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "`apiserver-doctor checks` lists every check's code and name; `apiserver-doctor checks \
--markdown` prints every check's documentation and thresholds at once."
)]
pub struct Args {
    /// The check's code (`AUD004`) or name (`expensive-lists`); `apiserver-doctor checks` lists them.
    #[arg(value_name = "CODE")]
    pub code: String,
}

/// Runs `apiserver-doctor explain`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match checks::find(&args.code) {
        Some(info) => {
            std::io::stdout().lock().write_all(checks::explain(&info).as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let hint = checks::registry::closest(&args.code)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_else(|| "; `apiserver-doctor checks` lists them".to_owned());
            anyhow::bail!("no check `{}`{hint}", args.code)
        }
    }
}
