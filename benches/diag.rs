mod support;
use serde_json::json;
use std::time::Instant;
use support::{ACTOR, Spec};

const AVAILABLE: &str = "n.org_id = ?1 AND n.class = 'pool' AND n.status = 'active' AND n.open_load < ?2
     AND NOT EXISTS (SELECT 1 FROM threads t
                     WHERE t.org_id = ?1 AND t.client_id = ?3 AND t.status = 'open' AND t.number_id = n.id)";

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let w = support::build(Spec {
        numbers: 10_000,
        threads,
        clients: (threads / 20).max(100),
        open_every: 10,
        due: false,
        active_windows: false,
        settings: json!({"maxConcurrentThreadsPerPoolNumber": 128, "stickyReuseDays": 0}),
    });
    let org = w.org;
    let client = w.fresh_client;
    let queries = vec![
        ("total", "SELECT count(*) FROM message_numbers WHERE org_id = ?1 AND class = 'pool' AND status = 'active'".to_string()),
        ("available", format!("SELECT count(*) FROM message_numbers n WHERE {AVAILABLE}")),
        ("lru", format!("SELECT n.id FROM message_numbers n WHERE {AVAILABLE} ORDER BY n.last_assigned_at, n.created_at, n.id LIMIT 1")),
        ("fifo", format!("SELECT n.id FROM message_numbers n WHERE {AVAILABLE} ORDER BY n.created_at, n.id LIMIT 1")),
        ("hash", format!("SELECT n.id, n.e164 FROM message_numbers n WHERE {AVAILABLE}")),
        ("with_room", "SELECT count(*) FROM message_numbers WHERE org_id = ?1 AND class = 'pool' AND status = 'active' AND open_load < ?2".to_string()),
        ("audit_seq", "SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events WHERE org_id = ?1".to_string()),
    ];
    w.engine.inspect(|conn| {
        for (name, sql) in &queries {
            let n = sql.matches('?').count();
            let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let args: Vec<i64> = vec![org, 128, client][..n.min(3)].to_vec();
            let rows: Vec<String> = plan
                .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                    r.get::<_, String>(3)
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let mut stmt = conn.prepare(sql).unwrap();
            let start = Instant::now();
            let reps = 50;
            for _ in 0..reps {
                let mut q = stmt.query(rusqlite::params_from_iter(args.iter())).unwrap();
                while let Some(_) = q.next().unwrap() {}
            }
            println!(
                "{name}: {:?}/call  plan: {:?}",
                start.elapsed() / reps,
                rows
            );
        }
    });
    let start = Instant::now();
    for _ in 0..50 {
        let (t, _) = w
            .engine
            .open_thread(org, ACTOR, client, None, None)
            .unwrap();
        w.engine
            .end_thread(org, ACTOR, t, switchboard_core::pool::ThreadStatus::Closed)
            .unwrap();
    }
    println!("open+close: {:?}", start.elapsed() / 50);
}
