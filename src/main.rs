//! `switchboard`: the command line. Arguments are parsed (clap), turned into a command, and run
//! by the libraries; this file holds no domain logic.
//!
//! Exit codes: 0 success, 1 a scenario failed or a scan found something, 2 unusable input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod proof;
mod scan;

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Deterministic simulation harness for the Switchboard proxy-number engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenario files (folders are searched recursively for *.toml).
    Run {
        /// Scenario files or folders.
        #[arg(default_value = "scenarios")]
        paths: Vec<PathBuf>,
        /// Only run scenarios whose path or name contains this text (matching nothing is an error).
        #[arg(long)]
        filter: Option<String>,
        /// Print each step's request, status and response body (as the caller received it).
        #[arg(long)]
        dump: bool,
        /// Write a JUnit XML report to this file.
        #[arg(long)]
        junit: Option<PathBuf>,
    },
    /// Generate random scenarios from a seed and run them with every invariant on; a failure is
    /// shrunk and written as an ordinary scenario file.
    Explore {
        /// The seed (printed at start). Default 1; with `--time` and no seed, one is drawn
        /// from the wall clock so that repeated budget runs cover new ground.
        #[arg(long)]
        seed: Option<u64>,
        /// How many scenarios to generate (default 200 without `--time`; unlimited with it).
        #[arg(long)]
        cases: Option<u64>,
        /// A wall-time budget such as `60s`, `10m` or `1h`: no new case starts after it.
        #[arg(long, value_parser = parse_budget)]
        time: Option<std::time::Duration>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Operations per scenario.
        #[arg(long, default_value_t = 40)]
        steps: usize,
        /// Where a shrunk failing scenario is written.
        #[arg(long, default_value = "target/explore-failures")]
        out: PathBuf,
        /// Run every 5-minute release tick in full (the release job and the judge), instead of
        /// completing ticks at which nothing can be due from the judge's kept reading. Slower;
        /// also exercises the engine's job on ticks where it should do nothing.
        #[arg(long)]
        every_tick: bool,
    },
    /// Scan JSON or HAR files for known real phone numbers and emails.
    Scan {
        /// `{"secrets": {"phones": [...], "emails": [...]}, "allowed": {"phones": [...]}}`
        #[arg(long)]
        contacts: PathBuf,
        /// JSON or HAR files to scan.
        files: Vec<PathBuf>,
        /// `text` (one line per finding) or `json` (one document).
        #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
        format: ScanFormat,
    },
    /// Prove the runtime requirements in a real browser: boots the server in-process, drives
    /// headless Chromium, writes screenshots, a HAR, proof.json and proof.md.
    Proof {
        /// Folder for the artifacts (created if missing).
        #[arg(long, default_value = "proof")]
        out: PathBuf,
        /// The Chromium binary (default: chromium, chromium-browser or google-chrome on PATH).
        #[arg(long)]
        chrome: Option<PathBuf>,
    },
    /// Serve the engine's HTTP API on a socket (the same Router the simulator drives).
    Serve {
        /// SQLite database file (created if missing).
        #[arg(long, default_value = "switchboard.db")]
        db: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Production mode: chaos is never applied and its route is refused; refuses to start
        /// without --webhook-secret.
        #[arg(long)]
        production: bool,
        /// Require inbound webhooks to be signed with this secret (without it, and without
        /// --production, unsigned webhooks are accepted and a warning is printed at start).
        #[arg(long)]
        webhook_secret: Option<String>,
        /// On an empty database, create a demo org (owner, admin, sitter, client, numbers) and a
        /// second org with its owner; print every token and write them to <db>.tokens.txt.
        #[arg(long)]
        demo: bool,
    },
    /// Print the JSON Schema of the scenario format (derived from the parser's shape structs;
    /// `scenarios/scenario.schema.json` is this output, for editors such as taplo).
    Schema,
}

/// Output format of `scan`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ScanFormat {
    Text,
    Json,
}

impl From<ScanFormat> for scan::Format {
    fn from(format: ScanFormat) -> Self {
        match format {
            ScanFormat::Text => Self::Text,
            ScanFormat::Json => Self::Json,
        }
    }
}

/// `60s`, `10m`, `1h30m`: the scenario duration syntax.
fn parse_budget(text: &str) -> Result<std::time::Duration, String> {
    switchboard_sim::scenario::time::parse_duration(text)
        .map(|secs| std::time::Duration::from_secs(secs.max(0) as u64))
}

/// A fresh exploration seed for a time-budget run (printed at start, so any run is replayable).
fn wall_clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs() ^ u64::from(d.subsec_nanos()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run {
            paths,
            filter,
            dump,
            junit,
        } => commands::run(
            &paths,
            &commands::RunReport {
                filter,
                dump,
                junit,
                github: std::env::var_os("GITHUB_ACTIONS").is_some(),
            },
        ),
        Command::Explore {
            seed,
            cases,
            time,
            jobs,
            steps,
            out,
            every_tick,
        } => commands::explore(&commands::ExploreConfig {
            seed: seed.unwrap_or_else(|| if time.is_some() { wall_clock_seed() } else { 1 }),
            cases: cases.or(if time.is_some() { None } else { Some(200) }),
            time,
            jobs: jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            steps,
            out,
            every_tick,
        }),
        Command::Scan {
            contacts,
            files,
            format,
        } => commands::scan(&contacts, &files, format.into()),
        Command::Proof { out, chrome } => proof::run(&proof::ProofOptions { out, chrome }),
        Command::Serve {
            db,
            addr,
            production,
            webhook_secret,
            demo,
        } => commands::serve(commands::ServeConfig {
            db,
            addr,
            production,
            webhook_secret,
            demo,
        }),
        Command::Schema => {
            print!("{}", switchboard_sim::scenario::shape::json_schema());
            0
        }
    };
    ExitCode::from(code)
}
