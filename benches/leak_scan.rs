//! Throughput of the known-value scanner against the original regex
//! approach on a ~1 MiB realistic sitter response, with 10,000 known
//! contacts (10k phones + 10k emails), plus scanner construction.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use switchboard_leak::baseline::GenericRegexScanner;
use switchboard_leak::{Contacts, LeakScanner};

/// Deterministic xorshift PRNG, so every run scans the same document.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit(self.below(16) as u32, 16).unwrap_or('0'))
            .collect()
    }
}

fn contacts(n: usize) -> Contacts {
    let mut rng = Rng(0x5eed);
    let phones = (0..n)
        .map(|_| {
            format!(
                "+1{}{:02}{}{:06}",
                2 + rng.below(8),
                rng.below(100),
                2 + rng.below(8),
                rng.below(1_000_000)
            )
        })
        .collect();
    let emails = (0..n)
        .map(|i| format!("user{i}.{}@mail{}.example.com", rng.hex(4), i % 97))
        .collect();
    Contacts {
        phones,
        emails,
        allowed_phones: (0..20).map(|i| format!("+1555000{i:04}")).collect(),
    }
}

const BODIES: &[&str] = &[
    "Hi! Walk at 3pm today? The gate code is 4411.",
    "Fed Max at 7:30, he ate 2 cups. Invoice #100234 paid ($45.00).",
    "Running 10 min late, sorry!! ETA 14:25",
    "Can you also water the plants? Thanks :) Order ord_20240501_000123 arrived.",
    "Photo: https://cdn.example.test/img/2024/05/01/IMG_20240501_101500.jpg (logo@2x.png)",
    "Booked for 2024-05-03 from 09:00 to 17:30, total 120.50 USD, ref 8842-1173.",
];

/// ~1 MiB of threads and messages with many timestamps and ids, and a few
/// planted secrets (so the scan also pays for findings).
fn sitter_response(c: &Contacts, target: usize) -> String {
    let mut rng = Rng(42);
    let mut threads = Vec::new();
    let mut size = 0;
    let mut t = 0u64;
    let mut planted = 0;
    while size < target {
        let mut messages = Vec::new();
        for m in 0..20u64 {
            let at = 1_714_557_600_000 + t * 3_600_000 + m * 61_000;
            let mut body = BODIES[rng.below(BODIES.len() as u64) as usize].to_string();
            if rng.below(400) == 0 {
                let p = &c.phones[rng.below(c.phones.len() as u64) as usize];
                body = format!("my cell is {} call anytime", &p[2..]);
                planted += 1;
            }
            let error = if rng.below(10) == 0 {
                if rng.below(20) == 0 {
                    let e = &c.emails[rng.below(c.emails.len() as u64) as usize];
                    Value::String(format!("Email bounce for {e}: 550 mailbox unavailable"))
                } else {
                    Value::String(format!(
                        "Twilio error 30003: Unreachable destination handset (+1555000{:04})",
                        rng.below(20)
                    ))
                }
            } else {
                Value::Null
            };
            messages.push(json!({
                "id": format!("msg_{}", rng.hex(24)),
                "sent_at": at,
                "created": format!("2024-05-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                    1 + t % 28, m % 24, rng.below(60), rng.below(60), rng.below(1000)),
                "direction": if m % 2 == 0 { "inbound" } else { "outbound" },
                "body": body,
                "delivery": {
                    "status": if error.is_null() { "delivered" } else { "failed" },
                    "provider": {
                        "sid": format!("SM{}", rng.hex(32)),
                        "code": if error.is_null() { 0 } else { 30003 },
                        "error": error,
                        "price": format!("-0.00{}", rng.below(100)),
                    }
                },
                "metadata": {
                    "routing": {"trace": [
                        format!("received {at} via pool +1555000{:04}", rng.below(20)),
                        format!("matched thread thr_{} score 0.{}", rng.hex(12), rng.below(1000)),
                        format!("delivered in {}ms", rng.below(2000)),
                    ]},
                    "audit": {"events": [
                        {"at": at / 1000, "actor": format!("usr_{}", rng.hex(16)), "action": "message.create"},
                        {"at": at / 1000 + 2, "actor": "system", "action": "message.deliver", "attempt": 1}
                    ]}
                }
            }));
        }
        let thread = json!({
            "id": format!("thr_{}", rng.hex(16)),
            "client": {"display": "Client", "proxy": format!("+1555000{:04}", t % 20)},
            "unread": rng.below(5),
            "messages": messages,
        });
        size += thread.to_string().len();
        threads.push(thread);
        t += 1;
    }
    assert!(planted > 0);
    json!({"threads": threads, "page": {"next": null, "total": t}}).to_string()
}

fn bench(cr: &mut Criterion) {
    let c = contacts(10_000);
    let scanner = LeakScanner::new(&c).expect("contacts");
    let doc = sitter_response(&c, 1 << 20);
    let baseline = GenericRegexScanner::new();
    let scan = scanner.scan_json(doc.as_bytes());
    eprintln!(
        "document {} bytes, {} findings, {} suspects; baseline {} matches",
        doc.len(),
        scan.findings.len(),
        scan.suspects.len(),
        baseline.find_all(&doc).len()
    );

    let mut g = cr.benchmark_group("leak_scan");
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.bench_function("known_values", |b| {
        b.iter(|| scanner.scan_json(black_box(doc.as_bytes())))
    });
    g.bench_function("baseline_regex", |b| {
        b.iter(|| baseline.find_all(black_box(&doc)))
    });
    g.finish();

    let mut g = cr.benchmark_group("leak_scanner_build");
    g.sample_size(20);
    g.bench_function("from_10k_contacts", |b| {
        b.iter(|| LeakScanner::new(black_box(&c)).expect("contacts"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
