//! `switchboard proof`: boots `serve`'s Router in-process, drives headless Chromium through the
//! seed's runtime requirements (DESIGN.md §4), checks each one in the DOM and in the captured
//! network log, and writes screenshots, a HAR, `proof.json` and `proof.md`.

mod browser;
mod network;
mod report;
mod steps;
mod world;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::commands::{FAILED, OK, UNUSABLE};
use report::Report;

/// The longest a whole proof may take before it is reported as failed.
const PROOF_TIMEOUT: Duration = Duration::from_secs(240);

/// What `switchboard proof` was asked.
pub struct ProofOptions {
    pub out: PathBuf,
    pub chrome: Option<PathBuf>,
}

/// Runs the proof; exit 0 when every check passed, 1 when one failed, 2 when it could not run
/// (no Chromium, unwritable output folder).
pub fn run(options: &ProofOptions) -> u8 {
    let chrome = match browser::find_chrome(options.chrome.as_deref()) {
        Ok(chrome) => chrome,
        Err(error) => {
            eprintln!("error: {error}");
            return UNUSABLE;
        }
    };
    if let Err(error) = std::fs::create_dir_all(&options.out) {
        eprintln!("error: cannot create {}: {error}", options.out.display());
        return UNUSABLE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error}");
            return UNUSABLE;
        }
    };
    println!(
        "proof: browser {}, artifacts in {}",
        chrome.display(),
        options.out.display()
    );
    let mut report = Report::default();
    let outcome = runtime.block_on(async {
        tokio::time::timeout(PROOF_TIMEOUT, prove(&chrome, &options.out, &mut report)).await
    });
    report.error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error),
        Err(_) => Some(format!("timed out after {}s", PROOF_TIMEOUT.as_secs())),
    };
    runtime.shutdown_timeout(Duration::from_secs(5));
    finish(&report, &options.out)
}

fn finish(report: &Report, out: &Path) -> u8 {
    if let Err(error) = report.write(out) {
        eprintln!(
            "error: cannot write the report into {}: {error}",
            out.display()
        );
        return FAILED;
    }
    if let Some(error) = &report.error {
        eprintln!("error: the proof stopped: {error}");
    }
    let passed = report.passed();
    println!(
        "proof: {} ({} checks, {} failed); see {}",
        if passed { "PASS" } else { "FAIL" },
        report.checks.len(),
        report.checks.iter().filter(|c| !c.pass).count(),
        out.join("proof.md").display()
    );
    if passed { OK } else { FAILED }
}

async fn prove(chrome: &Path, out: &Path, report: &mut Report) -> Result<(), String> {
    let temp = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
    let db = temp.path().join("proof.db");
    let mut demo =
        world::DemoWorld::seed(&db).map_err(|e| format!("seeding the demo world: {e}"))?;
    demo.listen()
        .await
        .map_err(|e| format!("listening on 127.0.0.1:0: {e}"))?;
    println!("proof: serving {} on {}", db.display(), demo.base_url);
    let mut browser = browser::launch(chrome, &temp.path().join("profile")).await?;
    let result = steps::run(&browser, &demo, out, report).await;
    let _ = browser.close().await;
    let _ = browser.wait().await;
    result
}
