//! Exploration as tests: the generated cases of one seed, split into trials of a fixed size
//! (one trial per case range), so `cargo nextest run --partition count:K/N` spreads a swarm
//! over CI runners the way it spreads scenario files. Sized from the environment:
//! `SWITCHBOARD_EXPLORE_CASES` (default 16), `SWITCHBOARD_EXPLORE_CHUNK` (default 8),
//! `SWITCHBOARD_EXPLORE_SEED` (default 1), `SWITCHBOARD_EXPLORE_STEPS` (default 40).
//!
//! A failing trial shrinks its case and writes it under `target/explore-failures/`, and its
//! message holds the command that replays it.

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use switchboard_sim::explore::{self, SwarmConfig};

fn trial(config: SwarmConfig, range: std::ops::Range<u64>) -> Trial {
    let name = format!(
        "explore::seed-{}::cases-{:06}-{:06}",
        config.seed,
        range.start,
        range.end - 1
    );
    Trial::test(name, move || {
        let options = explore::options();
        match explore::run_range(config.seed, range, config.steps, &options) {
            Ok(_) => Ok(()),
            Err(failure) => {
                let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/explore-failures");
                let written = match explore::write_shrunk(&failure, &out, &options) {
                    Ok(file) => format!(
                        "shrunk case written; replay: cargo run --release -- run {}",
                        file.display()
                    ),
                    Err(e) => format!("cannot write the shrunk case: {e}"),
                };
                Err(Failed::from(format!(
                    "case {} of seed {} failed ({written}):\n{}",
                    failure.case, failure.seed, failure.report
                )))
            }
        }
    })
}

fn main() {
    let args = Arguments::from_args();
    let trials = match SwarmConfig::from_env() {
        Ok(config) => config
            .ranges()
            .into_iter()
            .map(|range| trial(config, range))
            .collect(),
        Err(error) => vec![Trial::test("explore::configuration", move || {
            Err(Failed::from(error))
        })],
    };
    libtest_mimic::run(&args, trials).exit();
}
