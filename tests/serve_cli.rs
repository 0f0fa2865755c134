//! `switchboard serve` through the real binary: production fails closed, development warns, and
//! `--demo` prints and writes working tokens (issue 10 points 5 and 8).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn switchboard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
}

#[test]
fn production_without_a_webhook_secret_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    let output = switchboard()
        .args(["serve", "--production", "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--production requires --webhook-secret"),
        "{stderr}"
    );
    assert!(!db.exists(), "nothing was created");
    // An empty secret is no secret.
    let output = switchboard()
        .args([
            "serve",
            "--production",
            "--webhook-secret",
            " ",
            "--addr",
            "127.0.0.1:0",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// Kills the child on drop, so a failing test leaves no server behind.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(addr: &str, path: &str, token: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn demo_warns_without_a_secret_and_its_tokens_work() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut child = switchboard()
        .args(["serve", "--demo", "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _server = Server(child);
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = loop {
        assert!(Instant::now() < deadline, "serve did not start: {seen:?}");
        let line = lines.next().expect("serve exited early").unwrap();
        if let Some(url) = line.split("http://").nth(1) {
            break url.trim().to_string();
        }
        seen.push(line);
    };
    assert!(
        seen.iter()
            .any(|l| l.contains("warning: no --webhook-secret")),
        "{seen:?}"
    );
    let tokens = std::fs::read_to_string(dir.path().join("demo.db.tokens.txt")).unwrap();
    let token = |who: &str| {
        tokens
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{who}: ")))
            .unwrap_or_else(|| panic!("no {who} token in {tokens}"))
            .to_string()
    };
    for who in [
        "demo owner",
        "demo admin",
        "demo sitter (sam)",
        "demo-rival owner",
    ] {
        token(who);
    }
    let clients = get(&addr, "/api/clients", &token("demo owner"));
    assert!(clients.starts_with("HTTP/1.1 200"), "{clients}");
    assert!(clients.contains("\"id\":\"cli_1\""), "{clients}");
    let admin = get(&addr, "/api/sitters", &token("demo admin"));
    assert!(
        admin.starts_with("HTTP/1.1 200") && admin.contains("sit_1"),
        "{admin}"
    );
    let rival = get(&addr, "/api/clients", &token("demo-rival owner"));
    assert!(
        rival.starts_with("HTTP/1.1 200") && rival.contains("\"clients\":[]"),
        "{rival}"
    );
    let sitter = get(&addr, "/api/sitter/threads", &token("demo sitter (sam)"));
    assert!(sitter.starts_with("HTTP/1.1 200"), "{sitter}");
}
