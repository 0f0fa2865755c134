//! `switchboard`: the command line. Arguments are parsed (clap), turned into a command, and run
//! by the libraries; this file holds no domain logic.
//!
//! Exit codes: 0 success, 1 a scenario failed or a scan found something, 2 unusable input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod proof;

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
        /// Only run scenarios whose path or name contains this text.
        #[arg(long)]
        filter: Option<String>,
    },
    /// Generate random scenarios from a seed and run them with every invariant on; a failure is
    /// shrunk and written as an ordinary scenario file.
    Explore {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How many scenarios to generate.
        #[arg(long, default_value_t = 200)]
        cases: u64,
        /// Operations per scenario.
        #[arg(long, default_value_t = 40)]
        steps: usize,
        /// Where a shrunk failing scenario is written.
        #[arg(long, default_value = "target/explore-failures")]
        out: PathBuf,
    },
    /// Scan JSON or HAR files for known real phone numbers and emails.
    Scan {
        /// `{"secrets": {"phones": [...], "emails": [...]}, "allowed": {"phones": [...]}}`
        #[arg(long)]
        contacts: PathBuf,
        /// JSON or HAR files to scan.
        files: Vec<PathBuf>,
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
        /// Production mode: chaos mode is refused.
        #[arg(long)]
        production: bool,
        /// Require inbound webhooks to be signed with this secret.
        #[arg(long)]
        webhook_secret: Option<String>,
        /// On an empty database, create a demo org and print its owner and sitter tokens.
        #[arg(long)]
        demo: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run { paths, filter } => commands::run(&paths, filter.as_deref()),
        Command::Explore {
            seed,
            cases,
            steps,
            out,
        } => commands::explore(seed, cases, steps, &out),
        Command::Scan { contacts, files } => commands::scan(&contacts, &files),
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
    };
    ExitCode::from(code)
}
