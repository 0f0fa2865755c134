//! Several engines in several OS threads, one database file: capacity still holds, because the
//! check and the bind share one `BEGIN IMMEDIATE` transaction.

use std::sync::Arc;

use serde_json::json;
use switchboard_core::db::Storage;
use switchboard_core::ids::ClientId;
use switchboard_core::messaging::RecordingProvider;
use switchboard_core::{Engine, EngineConfig, ManualClock, Timestamp};

use crate::support::{Fixture, start};

#[test]
fn concurrent_assignment_against_one_file_never_exceeds_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        storage: Storage::File(dir.path().join("race.db")),
        ..EngineConfig::default()
    };
    const CAP: i64 = 2;
    const NUMBERS: usize = 5;
    const WORKERS: usize = 4;
    const PER_WORKER: usize = 10;
    let fx = Fixture::with_config(
        NUMBERS,
        WORKERS * PER_WORKER,
        json!({"maxConcurrentThreadsPerPoolNumber": CAP, "stickyReuseDays": 0, "minPoolReserve": 0}),
        config.clone(),
    );
    let org = fx.org;
    let clients = fx.clients.clone();
    let handles: Vec<_> = (0..WORKERS)
        .map(|w| {
            let config = config.clone();
            let clients = clients[w * PER_WORKER..(w + 1) * PER_WORKER].to_vec();
            std::thread::spawn(move || {
                let clock = ManualClock::new(Timestamp(start().0 + w as i64));
                let engine = Engine::new(
                    config,
                    Arc::new(clock),
                    Arc::new(RecordingProvider::default()),
                )
                .unwrap();
                for client in clients {
                    engine
                        .open_thread(org, "worker", ClientId(client), None, None)
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let (max_load, bound, over): (i64, i64, i64) = fx.engine.inspect(|c| {
        c.query_row(
            "SELECT max(cnt), sum(cnt), sum(cnt > ?1) FROM (SELECT count(*) AS cnt FROM threads WHERE number_id IS NOT NULL AND status = 'open' GROUP BY number_id)",
            [CAP],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    });
    assert_eq!(over, 0, "a number exceeded capacity (max load {max_load})");
    assert_eq!(bound, CAP * NUMBERS as i64, "every slot should be used");
    let stored_load: i64 = fx.engine.inspect(|c| {
        c.query_row(
            "SELECT sum(open_load) FROM message_numbers WHERE org_id = ?1",
            [org],
            |r| r.get(0),
        )
        .unwrap()
    });
    assert_eq!(stored_load, bound);
}
