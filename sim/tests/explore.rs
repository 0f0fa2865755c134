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
            if matches!(step.action(), switchboard_sim::scenario::Action::Inbound(_)) {
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

#[test]
fn every_operation_kind_renders_a_parsable_step() {
    use explore::Op;
    let every = vec![
        Op::Advance("0s"),
        Op::Confirm(0),
        Op::Complete(0),
        Op::Cancel(1),
        Op::Close(0),
        Op::Inbound {
            client: 0,
            number: 0,
            sid: 1,
        },
        Op::SitterSend {
            booking: 0,
            sitter: 0,
        },
        Op::OwnerSend(0),
        Op::SitterView {
            booking: 0,
            sitter: 1,
        },
        Op::SitterList(1),
        Op::Settings("poolSelectionStrategy = \"HASH_SHUFFLE\"".into()),
        Op::Release("rival-owner"),
        Op::Reassign {
            booking: 0,
            sitter: 1,
        },
        Op::Chaos(true),
        Op::Chaos(false),
        Op::RivalSettings("inactivityReleaseDays = 1".into()),
        Op::RivalInbound(2),
        Op::AddNumber(7),
        Op::RawWebhook {
            missing_from: true,
            sid: 1,
        },
        Op::RawWebhook {
            missing_from: false,
            sid: 2,
        },
        Op::CreateBooking(3),
    ];
    let source = explore::render(1, &every);
    let scenario =
        switchboard_sim::scenario::Scenario::parse(std::path::Path::new("x.toml"), &source)
            .unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(scenario.steps.len(), every.len());
    assert!(explore::check(1, &every, &explore::options()).is_ok());
}

#[test]
fn generation_reaches_every_operation_kind() {
    let ops: Vec<explore::Op> = (0..20)
        .flat_map(|case| explore::generate(3, case, 40))
        .collect();
    let kinds: std::collections::BTreeSet<String> = ops
        .iter()
        .map(|op| {
            format!("{op:?}")
                .split(['(', ' ', '{'])
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    for kind in [
        "Advance",
        "Confirm",
        "Complete",
        "Cancel",
        "Close",
        "Inbound",
        "SitterSend",
        "OwnerSend",
        "SitterView",
        "SitterList",
        "Settings",
        "Release",
        "Reassign",
        "Chaos",
        "RivalSettings",
        "RivalInbound",
        "AddNumber",
        "RawWebhook",
        "CreateBooking",
    ] {
        assert!(kinds.contains(kind), "{kind} never generated: {kinds:?}");
    }
}

#[test]
fn swarm_trials_cover_every_case_once() {
    let config = explore::SwarmConfig {
        seed: 1,
        cases: 10,
        chunk: 4,
        steps: 5,
    };
    assert_eq!(config.ranges(), vec![0..4, 4..8, 8..10]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// parse ∘ render = identity over generated scenarios: the text the explorer writes from its
    /// shape structs reads back (through the same structs) into the same shape, which writes
    /// the same text; and the resolver accepts it.
    #[test]
    fn rendered_scenarios_read_back_to_the_same_shape(seed in 0u64..1_000, case in 0u64..1_000, len in 1usize..40, status in proptest::option::of(100u16..600)) {
        let ops = explore::generate(seed, case, len);
        // A status only where the step has a response (as a run's observations would).
        let has_response = |op: &explore::Op| !matches!(op, explore::Op::AddNumber(_) | explore::Op::Advance(_));
        let statuses: Vec<Option<u16>> = ops.iter().map(|op| status.filter(|_| has_response(op))).collect();
        let shape = explore::scenario_shape(seed, &ops, &statuses);
        let text = switchboard_sim::scenario::shape::render(&shape);
        let read = switchboard_sim::scenario::shape::read(&text);
        prop_assert!(read.is_ok(), "{text}\n{read:?}");
        let read = read.unwrap_or_default();
        prop_assert_eq!(switchboard_sim::scenario::shape::render(&read), text.clone());
        prop_assert_eq!(read.steps.len(), ops.len());
        let parsed = switchboard_sim::scenario::Scenario::parse(std::path::Path::new("explored.toml"), &text);
        prop_assert!(parsed.is_ok(), "{text}\n{}", parsed.err().map(|e| e.render()).unwrap_or_default());
    }
}
