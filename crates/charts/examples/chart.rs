//! Draws a chart saved as JSON (`findings::Chart`) to a file or the terminal:
//! `cargo run -p charts --example chart -- chart.json out.svg|out.png|-`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(input), Some(output)) = (args.first(), args.get(1)) else {
        eprintln!("usage: chart CHART.json OUT.svg|OUT.png|-");
        return ExitCode::from(2);
    };
    let chart: findings::Chart =
        match std::fs::read_to_string(input).map_err(|e| e.to_string()).and_then(|t| {
            serde_json::from_str(&t)
                .map_err(|e| format!("line {}, column {}: not a chart: {e}", e.line(), e.column()))
        }) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{input}: {e}");
                return ExitCode::from(2);
            }
        };
    let bytes = if output == "-" {
        print!("{}", charts::text(&chart, 100, 20));
        return ExitCode::SUCCESS;
    } else if output.ends_with(".png") {
        match charts::png(&chart, 1000, 450) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{output}: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        charts::svg(&chart, 1000, 450).into_bytes()
    };
    match std::fs::write(output, bytes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{output}: {e}");
            ExitCode::from(2)
        }
    }
}
