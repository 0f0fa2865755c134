//! Property-based exploration: random operation sequences over a small world, run with every
//! invariant on. proptest shrinks a failure; the test then prints the shrunk case as a scenario
//! file (and writes it under target/explore-failures/) so `switchboard run` replays it.

use proptest::prelude::*;
use switchboard_sim::explore;

fn write_failure(
    seed: u64,
    ops: &[explore::Op],
    options: &switchboard_sim::runner::RunOptions,
) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/explore-failures");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("proptest-seed-{seed}.toml"));
    let _ = std::fs::write(&path, explore::failure_file(seed, ops, options));
    path.display().to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_every_invariant(seed in 0u64..1_000, case in 0u64..1_000, len in 5usize..40) {
        let ops = explore::generate(seed, case, len);
        let options = explore::options();
        if let Err(report) = explore::check(seed, &ops, &options) {
            let shrunk = explore::shrink(seed, ops, &options);
            let file = write_failure(seed, &shrunk, &options);
            prop_assert!(false, "invariant failure; shrunk case written to {file}\n{report}");
        }
    }
}

#[test]
fn generation_is_deterministic_and_renders_parsable_scenarios() {
    let a = explore::generate(7, 3, 30);
    assert_eq!(a, explore::generate(7, 3, 30));
    let source = explore::render(7, &a);
    switchboard_sim::scenario::Scenario::parse(std::path::Path::new("x.toml"), &source)
        .unwrap_or_else(|e| panic!("{}", e.render()));
}

#[test]
fn shrinking_keeps_a_failing_case_failing_and_drops_the_rest() {
    // A planted bug that fires on any inbound: the minimal case is a single inbound step.
    let options = switchboard_sim::runner::RunOptions {
        any_status: true,
        plant: Some(Box::new(|conn, step| {
            if matches!(step.action, switchboard_sim::scenario::Action::Inbound(_)) {
                let _ = conn.execute_batch("UPDATE message_numbers SET open_load = open_load + 7");
            }
        })),
        ..Default::default()
    };
    let ops = vec![
        explore::Op::Advance("1h"),
        explore::Op::Confirm(0),
        explore::Op::Inbound {
            client: 0,
            number: 0,
            sid: 1,
        },
        explore::Op::Advance("1d"),
    ];
    assert!(explore::check(1, &ops, &options).is_err());
    let shrunk = explore::shrink(1, ops, &options);
    assert_eq!(
        shrunk,
        vec![explore::Op::Inbound {
            client: 0,
            number: 0,
            sid: 1
        }]
    );
}
