//! The subcommands, each returning its exit code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use switchboard_sim::runner::{self, RunOptions};
use switchboard_sim::scenario::Scenario;

pub const OK: u8 = 0;
pub const FAILED: u8 = 1;
pub const UNUSABLE: u8 = 2;

/// What `switchboard run` reports besides its lines on stdout.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Only scenarios whose path or name contains this text.
    pub filter: Option<String>,
    /// Print each step's request, status and response body.
    pub dump: bool,
    /// Write a JUnit XML report here.
    pub junit: Option<PathBuf>,
    /// Print `::error file=…,line=…::` annotations (set when `GITHUB_ACTIONS` is).
    pub github: bool,
}

/// One scenario's verdict, for the JUnit report.
struct Verdict {
    name: String,
    file: String,
    time: std::time::Duration,
    failure: Option<switchboard_sim::scenario::ScenarioError>,
}

/// `switchboard run`: one line per scenario, reports for failures, a summary line; optionally a
/// dump of every exchange, a JUnit file and GitHub annotations. A filter that matches nothing
/// is an error (exit 2): a typo must not look like a green run.
pub fn run(paths: &[PathBuf], report: &RunReport) -> u8 {
    let started = std::time::Instant::now();
    let files = match switchboard_sim::discover(paths) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("error: {error}");
            return UNUSABLE;
        }
    };
    let (mut passed, mut failed, mut unusable, mut skipped) = (0, 0, 0, 0);
    let mut verdicts = Vec::new();
    let mut stdout = std::io::stdout().lock();
    for file in &files {
        let (count, verdict) = match run_file(file, report, &mut stdout) {
            FileRun::Skipped => {
                skipped += 1;
                continue;
            }
            FileRun::Unusable(verdict) => (&mut unusable, verdict),
            FileRun::Passed(verdict) => (&mut passed, verdict),
            FileRun::Failed(verdict) => (&mut failed, verdict),
        };
        *count += 1;
        verdicts.push(verdict);
    }
    let _ = writeln!(
        stdout,
        "\n{} scenarios: {passed} passed, {failed} failed, {unusable} unusable, {skipped} filtered out ({:.2}s)",
        files.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &report.junit
        && let Err(error) = write_junit(path, &verdicts, started.elapsed())
    {
        eprintln!(
            "error: cannot write the JUnit report {}: {error}",
            path.display()
        );
        return UNUSABLE;
    }
    if files.is_empty() {
        let _ = writeln!(stdout, "error: no scenario files found");
        return UNUSABLE;
    }
    if let Some(filter) = &report.filter
        && verdicts.is_empty()
    {
        let _ = writeln!(
            stdout,
            "error: --filter {filter:?} matches no scenario (by path or name) among {} files",
            files.len()
        );
        return UNUSABLE;
    }
    if unusable > 0 {
        UNUSABLE
    } else if failed > 0 {
        FAILED
    } else {
        OK
    }
}

/// What `switchboard run` did with one file.
enum FileRun {
    /// The filter left it out.
    Skipped,
    /// It could not be loaded.
    Unusable(Verdict),
    /// It ran and passed.
    Passed(Verdict),
    /// It ran and failed.
    Failed(Verdict),
}

/// Loads and runs one scenario file, printing its line (and report, dump, annotation).
fn run_file(file: &Path, report: &RunReport, stdout: &mut impl Write) -> FileRun {
    let filter = report.filter.as_deref();
    let case_started = std::time::Instant::now();
    let scenario = match Scenario::load(file) {
        Ok(scenario) => scenario,
        Err(error) => {
            if filter.is_some_and(|f| !file.to_string_lossy().contains(f)) {
                return FileRun::Skipped;
            }
            let _ = writeln!(stdout, "ERROR {}\n{}", file.display(), error.render());
            annotate(report.github, &error);
            return FileRun::Unusable(Verdict {
                name: file.display().to_string(),
                file: file.display().to_string(),
                time: case_started.elapsed(),
                failure: Some(error),
            });
        }
    };
    if let Some(filter) = filter
        && !file.to_string_lossy().contains(filter)
        && !scenario.name.contains(filter)
    {
        return FileRun::Skipped;
    }
    let options = RunOptions {
        dump: report.dump,
        ..RunOptions::default()
    };
    let outcome = runner::run(&scenario, &options);
    if report.dump {
        for exchange in &outcome.dump {
            let _ = writeln!(stdout, "{exchange}");
        }
    }
    match &outcome.failure {
        None => {
            let _ = writeln!(
                stdout,
                "ok    {}  ({} steps, {} release-job runs)",
                file.display(),
                outcome.steps_run,
                outcome.ticks
            );
        }
        Some(failure) => {
            let _ = writeln!(
                stdout,
                "FAIL  {}\n{}",
                file.display(),
                failure.report.render()
            );
            annotate(report.github, &failure.report);
        }
    }
    let verdict = Verdict {
        name: scenario.name.clone(),
        file: file.display().to_string(),
        time: case_started.elapsed(),
        failure: outcome.failure.map(|f| f.report),
    };
    if verdict.failure.is_none() {
        FileRun::Passed(verdict)
    } else {
        FileRun::Failed(verdict)
    }
}

/// A GitHub Actions workflow command that puts the failure on the file's line in the diff.
fn annotate(github: bool, error: &switchboard_sim::scenario::ScenarioError) {
    if !github {
        return;
    }
    println!("{}", github_annotation(error));
}

/// `::error file=F,line=L,col=C::message`, with the message escaped as GitHub requires.
pub fn github_annotation(error: &switchboard_sim::scenario::ScenarioError) -> String {
    let escape = |text: &str| {
        text.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let property = |text: &str| escape(text).replace(':', "%3A").replace(',', "%2C");
    let location = match error.line_col() {
        Some((line, col)) => format!(",line={line},col={col}"),
        None => String::new(),
    };
    format!(
        "::error file={}{location}::{}",
        property(error.path()),
        escape(error.message())
    )
}

/// The JUnit XML report: one suite, one test case per scenario file.
fn write_junit(
    path: &Path,
    verdicts: &[Verdict],
    total: std::time::Duration,
) -> Result<(), String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("scenarios");
    for verdict in verdicts {
        let status = match &verdict.failure {
            None => TestCaseStatus::success(),
            Some(error) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(error.one_line())
                    .set_description(error.render());
                status
            }
        };
        let mut case = TestCase::new(verdict.name.as_str(), status);
        case.set_classname(verdict.file.as_str())
            .set_time(verdict.time);
        suite.add_test_case(case);
    }
    suite.set_time(total);
    let mut report = Report::new("switchboard run");
    report.set_time(total).add_test_suite(suite);
    let xml = report.to_string().map_err(|e| e.to_string())?;
    std::fs::write(path, xml).map_err(|e| e.to_string())
}

/// What `switchboard explore` runs.
#[derive(Debug, Clone)]
pub struct ExploreConfig {
    /// The run's seed (printed at start).
    pub seed: u64,
    /// Stop after this many cases (None: only the time budget stops it).
    pub cases: Option<u64>,
    /// Stop starting new cases after this much wall time.
    pub time: Option<std::time::Duration>,
    /// Worker threads, each running whole cases.
    pub jobs: usize,
    /// Operations per case.
    pub steps: usize,
    /// Where a shrunk failing case is written.
    pub out: PathBuf,
    /// Run every scheduled release tick in full (`--every-tick`): the release job and the
    /// judge's reading on each 5-minute tick, instead of completing ticks that nothing can make
    /// due from the judge's kept reading ([`switchboard_sim::simulation::with_every_tick`]).
    /// Slower; it also exercises the engine's job on ticks where it should do nothing.
    pub every_tick: bool,
}

/// What the explore workers share: the next case to take, how many passed, whether to stop,
/// and the lowest failing case found.
#[derive(Default)]
struct Shared {
    next: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
    stop: std::sync::atomic::AtomicBool,
    found: std::sync::Mutex<Option<Box<switchboard_sim::explore::FoundFailure>>>,
}

/// One explore worker: takes cases in turn until the count, the time budget or a failure.
fn work(config: &ExploreConfig, started: std::time::Instant, shared: &Shared) {
    use std::sync::atomic::Ordering;
    use switchboard_sim::explore;
    let options = explore::options();
    while !shared.stop.load(Ordering::Relaxed) && config.time.is_none_or(|t| started.elapsed() < t)
    {
        let case = shared.next.fetch_add(1, Ordering::Relaxed);
        if config.cases.is_some_and(|n| case >= n) {
            break;
        }
        match explore::run_range(config.seed, case..case + 1, config.steps, &options) {
            Ok(ran) => {
                shared.done.fetch_add(ran, Ordering::Relaxed);
            }
            Err(failure) => {
                shared.stop.store(true, Ordering::Relaxed);
                let mut slot = shared.found.lock().unwrap_or_else(|p| p.into_inner());
                // Keep the lowest failing case, so the report does not depend on which thread
                // got there first.
                if slot.as_ref().is_none_or(|f| failure.case < f.case) {
                    *slot = Some(failure);
                }
            }
        }
    }
}

/// `switchboard explore`: generated cases on `jobs` threads until the case count or the time
/// budget is reached, or the first failure, which is shrunk and written as a scenario file.
pub fn explore(config: &ExploreConfig) -> u8 {
    use std::sync::atomic::Ordering;
    use switchboard_sim::explore;
    let started = std::time::Instant::now();
    println!(
        "exploring: seed {} ({} jobs, {} steps per case{}, {})",
        config.seed,
        config.jobs,
        config.steps,
        if config.every_tick {
            ", every tick in full"
        } else {
            ""
        },
        match (config.cases, config.time) {
            (Some(cases), Some(time)) => format!("up to {cases} cases or {}s", time.as_secs()),
            (Some(cases), None) => format!("{cases} cases"),
            (None, Some(time)) => format!("{}s", time.as_secs()),
            (None, None) => "until stopped".to_string(),
        }
    );
    let shared = Shared::default();
    std::thread::scope(|scope| {
        for _ in 0..config.jobs.max(1) {
            scope.spawn(|| {
                if config.every_tick {
                    switchboard_sim::simulation::with_every_tick(|| work(config, started, &shared));
                } else {
                    work(config, started, &shared);
                }
            });
        }
    });
    let Shared { done, found, .. } = shared;
    let elapsed = started.elapsed().as_secs_f64();
    let done = done.load(Ordering::Relaxed);
    let found = found.into_inner().unwrap_or_else(|p| p.into_inner());
    let Some(failure) = found else {
        println!(
            "{done} generated scenarios of {} steps (seed {}): every invariant held ({elapsed:.2}s, {:.0} cases/s)",
            config.steps,
            config.seed,
            done as f64 / elapsed.max(1e-9)
        );
        return OK;
    };
    println!(
        "case {} of seed {} failed (after {done} passing cases):\n{}",
        failure.case, failure.seed, failure.report
    );
    match explore::write_shrunk(&failure, &config.out, &explore::options()) {
        Ok(file) => println!(
            "shrunk; replay: cargo run --release -- run {}",
            file.display()
        ),
        Err(error) => eprintln!("error: cannot write the shrunk case: {error}"),
    }
    FAILED
}

/// `switchboard scan`: one line per finding; exit 1 when anything is found, 2 on unusable input.
pub fn scan(contacts: &Path, files: &[PathBuf], format: crate::scan::Format) -> u8 {
    use crate::scan::{Format, run_scan};
    let mut stdout = std::io::stdout().lock();
    match run_scan(contacts, files, format, &mut stdout) {
        Ok(outcome) => outcome.exit_code() as u8,
        Err(error) => {
            eprintln!("error: {error}");
            if format == Format::Json {
                println!("{}", serde_json::json!({ "error": error.to_string() }));
            }
            error.exit_code() as u8
        }
    }
}

pub struct ServeConfig {
    pub db: PathBuf,
    pub addr: String,
    pub production: bool,
    pub webhook_secret: Option<String>,
    pub demo: bool,
}

/// Production fails closed (DESIGN.md §2 inbound): `--production` without a webhook secret is
/// refused (`Err` with the message to print, exit 2); without `--production` a missing secret is
/// allowed with a warning (`Ok(Some(warning))`), since unsigned webhooks are then accepted.
pub fn check_serve_config(config: &ServeConfig) -> Result<Option<String>, String> {
    let secret = config
        .webhook_secret
        .as_deref()
        .filter(|s| !s.trim().is_empty());
    match (config.production, secret) {
        (true, None) => Err(
            "--production requires --webhook-secret: without it anyone could post an unsigned \
             webhook claiming a client's phone. Refusing to start."
                .into(),
        ),
        (false, None) => Ok(Some(
            "warning: no --webhook-secret: inbound webhooks are accepted unsigned (development \
             only; --production refuses to start this way)"
                .into(),
        )),
        (_, Some(_)) => Ok(None),
    }
}

/// `switchboard serve`: the real Router on a socket, a file database, the release job every 5
/// minutes of wall time and delayed deliveries every second.
pub fn serve(config: ServeConfig) -> u8 {
    match check_serve_config(&config) {
        Err(message) => {
            eprintln!("error: {message}");
            return UNUSABLE;
        }
        Ok(Some(warning)) => eprintln!("switchboard: {warning}"),
        Ok(None) => {}
    }
    use switchboard_core::db::Storage;
    use switchboard_core::messaging::RecordingProvider;
    use switchboard_core::{Engine, EngineConfig, SystemClock};

    let engine_config = EngineConfig {
        storage: Storage::File(config.db.clone()),
        seed: unpredictable_seed(),
        production: config.production,
        webhook_secret: config.webhook_secret.clone(),
        ..EngineConfig::default()
    };
    let engine = match Engine::new(
        engine_config,
        Arc::new(SystemClock),
        Arc::new(RecordingProvider::default()),
    ) {
        Ok(engine) => Arc::new(engine),
        Err(error) => {
            eprintln!("error: cannot open {}: {error}", config.db.display());
            return UNUSABLE;
        }
    };
    if config.demo
        && let Err(error) = demo(&engine, &demo_tokens_path(&config.db))
    {
        eprintln!("error: demo setup failed: {error}");
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
    runtime.block_on(listen(config, engine))
}

/// Serves the router on `config.addr` with the background jobs (delivery every second, the
/// release job every 5 minutes) until the server stops; returns the exit code.
async fn listen(config: ServeConfig, engine: Arc<switchboard_core::Engine>) -> u8 {
    let listener = match tokio::net::TcpListener::bind(&config.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", config.addr);
            return UNUSABLE;
        }
    };
    let addr = listener
        .local_addr()
        .map_or(config.addr.clone(), |a| a.to_string());
    eprintln!(
        "switchboard: serving {} on http://{addr}",
        config.db.display()
    );
    let delivery_engine = engine.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            interval.tick().await;
            if let Err(error) = delivery_engine.deliver_due() {
                eprintln!("delivery failed: {error}");
            }
        }
    });
    let job_engine = engine.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            interval.tick().await;
            if let Err(error) = job_engine.run_scheduled_release() {
                eprintln!("release job failed: {error}");
            }
        }
    });
    match axum::serve(listener, switchboard_core::api::router(engine)).await {
        Ok(()) => OK,
        Err(error) => {
            eprintln!("error: {error}");
            FAILED
        }
    }
}

/// `serve` mints real bearer tokens, so its RNG must not be guessable: it is seeded from the OS
/// (std's `RandomState` keys come from the OS random source). Only `serve` does this; the
/// simulator seeds from the scenario file.
fn unpredictable_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id() as u64);
    hasher.finish()
}

/// Where `serve --demo` writes its tokens: beside the database, `<db>.tokens.txt`.
pub fn demo_tokens_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".tokens.txt");
    db.with_file_name(name)
}

/// A demo world to try the API with: org `demo` (owner, admin, a sitter, a client, three pool
/// numbers) and org `demo-rival` with its own owner. Prints every token and writes them to
/// `tokens_file` (mode 0600 on Unix).
fn demo(engine: &switchboard_core::Engine, tokens_file: &Path) -> switchboard_core::Result<()> {
    use switchboard_core::auth::Role;
    use switchboard_core::world::{NewContact, NewNumber, NumberClass, NumberStatus};
    if !engine.org_ids()?.is_empty() {
        eprintln!("switchboard: database not empty; --demo skipped");
        return Ok(());
    }
    let contact = |first: &str, phone: &str, email: &str| NewContact {
        first_name: first.into(),
        last_name: "Demo".into(),
        phone: phone.into(),
        email: email.into(),
    };
    let org = engine.create_org("demo")?;
    let sitter = engine.create_sitter(org, &contact("Sam", "+15550200001", "sam@example.com"))?;
    engine.create_client(org, &contact("Alice", "+15550300001", "alice@example.com"))?;
    for i in 1..=3 {
        let number = NewNumber {
            e164: format!("+1555010000{i}"),
            class: NumberClass::Pool,
            status: NumberStatus::Active,
            sitter: None,
            created_at: None,
        };
        engine.create_number(org, &number)?;
    }
    let rival = engine.create_org("demo-rival")?;
    let users = [
        (
            "demo owner",
            engine.create_user(org, "owner", Role::Owner, None)?,
        ),
        (
            "demo admin",
            engine.create_user(org, "admin", Role::Admin, None)?,
        ),
        (
            "demo sitter (sam)",
            engine.create_user(org, "sam", Role::Sitter, Some(sitter))?,
        ),
        (
            "demo-rival owner",
            engine.create_user(rival, "owner", Role::Owner, None)?,
        ),
    ];
    let mut lines = String::new();
    for (who, user) in users {
        lines.push_str(&format!("{who}: {}\n", engine.mint_token(user)?));
    }
    print!("{lines}");
    match write_private(tokens_file, &lines) {
        Ok(()) => println!("tokens written to {}", tokens_file.display()),
        Err(error) => eprintln!("warning: cannot write {}: {error}", tokens_file.display()),
    }
    Ok(())
}

/// Writes a file only its owner can read (tokens are credentials).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}
