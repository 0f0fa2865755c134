//! Headless Chromium over CDP (chromiumoxide): finding the binary, launching it with a fresh
//! profile, and the few page actions the proof needs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chromiumoxide::Page;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::page::ScreenshotParams;
use futures::StreamExt;
use serde_json::Value;

/// Names tried on `PATH` when `--chrome` is not given.
pub const CHROME_NAMES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// The browser binary: `--chrome PATH` when given (it must exist), else the first of
/// [`CHROME_NAMES`] on `PATH`.
pub fn find_chrome(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(format!("--chrome {}: no such file", path.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| CHROME_NAMES.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            format!(
                "no Chromium found on PATH (looked for {}); install it (e.g. `apt-get install chromium`) or pass --chrome PATH",
                CHROME_NAMES.join(", ")
            )
        })
}

/// Launches headless Chromium with a fresh profile in `profile`; the CDP handler runs on a
/// task of its own.
pub async fn launch(chrome: &Path, profile: &Path) -> Result<Browser, String> {
    let config = BrowserConfig::builder()
        .chrome_executable(chrome)
        .disable_default_args()
        .no_sandbox()
        .user_data_dir(profile)
        .window_size(1000, 720)
        .args([
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .launch_timeout(Duration::from_secs(60))
        .request_timeout(Duration::from_secs(30))
        .build()?;
    let (browser, mut handler) = Browser::launch(config)
        .await
        .map_err(|e| format!("cannot start {}: {e}", chrome.display()))?;
    tokio::spawn(async move { while handler.next().await.is_some() {} });
    Ok(browser)
}

/// Evaluates a JS expression and returns its JSON value.
pub async fn eval(page: &Page, expression: &str) -> Result<Value, String> {
    let result = page
        .evaluate(expression)
        .await
        .map_err(|e| format!("evaluating `{}`: {e}", short(expression)))?;
    Ok(result.value().cloned().unwrap_or(Value::Null))
}

fn short(text: &str) -> String {
    text.chars().take(80).collect()
}

/// Polls `condition` (a JS expression) until it is true, for at most 15 s.
pub async fn wait_until(page: &Page, condition: &str) -> Result<(), String> {
    let expression = format!("Boolean({condition})");
    for _ in 0..150 {
        if let Ok(Value::Bool(true)) = eval(page, &expression).await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("timed out waiting for `{}`", short(condition)))
}

/// Navigates and waits for the load.
pub async fn goto(page: &Page, url: &str) -> Result<(), String> {
    page.goto(url)
        .await
        .map_err(|e| format!("opening {url}: {e}"))?;
    wait_until(page, "document.readyState === 'complete'").await
}

/// A full-page PNG screenshot written to `path`.
pub async fn screenshot(page: &Page, path: &Path) -> Result<(), String> {
    let params = ScreenshotParams::builder()
        .format(CaptureScreenshotFormat::Png)
        .full_page(true)
        .build();
    page.save_screenshot(params, path)
        .await
        .map(|_| ())
        .map_err(|e| format!("screenshot {}: {e}", path.display()))
}

/// A JS string literal of `text`.
pub fn js_string(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}
