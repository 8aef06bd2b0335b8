//! Renders a saved JSON report (`diagnose -o json`) again, in any format:
//! `cargo run -p report --example render -- report.json [text|json|markdown|html] > out`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: render REPORT.json [text|json|markdown|html]");
        return ExitCode::from(2);
    };
    let format = match args.get(1).map_or(Ok(report::Format::Text), |f| f.parse()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let model: findings::Report = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{path}: line {}, column {}: not a report: {e}", e.line(), e.column());
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let options = report::TextOptions {
        color: report::use_color(stdout.is_terminal(), std::env::var_os("NO_COLOR").as_deref()),
        width: 100,
    };
    let mut out = stdout.lock();
    match report::render(&model, format, &mut out, &options).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("writing the report: {e}");
            ExitCode::from(2)
        }
    }
}
