//! Model-based tests of the hub: random schedules of publishes, subscribes (fresh, and
//! resumed from held, just-evicted, long-evicted, never-issued, other-epoch and malformed
//! ids), polls with old and new wakers, and drops, checked step by step against the plain
//! model in `tests/hub_oracle`: every subscriber receives exactly the published sequence
//! after its resume point, with gap events exactly where the model says, never a
//! duplicate; a waiting subscriber is woken by the next publish, once, through the waker
//! it registered last, and no other subscriber is.
#![cfg(feature = "hub")]

#[path = "hub_oracle/mod.rs"]
mod hub_oracle;

use hub_oracle::{Op, Resume, Setup};
use proptest::prelude::*;

fn resume() -> impl Strategy<Value = Resume> {
    prop_oneof![
        2 => Just(Resume::None),
        1 => Just(Resume::Empty),
        4 => (0u64..8).prop_map(Resume::Back),
        1 => (0u64..3).prop_map(Resume::Ahead),
        1 => (any::<bool>(), 0u64..6).prop_map(|(up, seq)| Resume::OtherEpoch { up, seq }),
        1 => "(1000|999|1001|01000|\\+1000)?-?(0|00|1|01|2|3|\\+3|x)?\n?".prop_map(Resume::Text),
        1 => any::<String>().prop_map(Resume::Text),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (
            proptest::option::of(prop_oneof![Just("tick".to_owned()), Just("a b".to_owned())]),
            proptest::option::weighted(0.8, "[ab\n]{0,6}"),
        )
            .prop_map(|(event_type, data)| Op::Publish { event_type, data }),
        2 => resume().prop_map(Op::Subscribe),
        4 => (any::<usize>(), 1u8..4, any::<bool>())
            .prop_map(|(sub, times, new_waker)| Op::Poll { sub, times, new_waker }),
        1 => any::<usize>().prop_map(|sub| Op::Drop { sub }),
    ]
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        0usize..6,
        prop_oneof![Just(usize::MAX), 0usize..120],
        any::<bool>(),
    )
        .prop_map(|(max_events, max_bytes, lag_gap)| Setup {
            max_events,
            max_bytes,
            lag_gap,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn every_subscriber_gets_exactly_what_the_model_says(
        setup in setup(),
        ops in proptest::collection::vec(op(), 0..40),
    ) {
        hub_oracle::run(setup, &ops);
    }
}

/// The model itself must be able to fail: a hub whose bounds differ from the model's
/// evicts at other times, which the driver notices.
#[test]
fn the_driver_catches_a_hub_that_breaks_the_rules() {
    let ops = [
        Op::Subscribe(Resume::Back(0)),
        Op::Publish {
            event_type: None,
            data: Some("a".into()),
        },
        Op::Publish {
            event_type: None,
            data: Some("b".into()),
        },
        Op::Poll {
            sub: 0,
            times: 3,
            new_waker: false,
        },
    ];
    hub_oracle::run(
        Setup {
            max_events: 1,
            max_bytes: usize::MAX,
            lag_gap: true,
        },
        &ops,
    );
    let wrong = std::panic::catch_unwind(|| {
        hub_oracle::run_with(
            Setup {
                max_events: 1,
                max_bytes: usize::MAX,
                lag_gap: true,
            },
            Setup {
                max_events: 2,
                max_bytes: usize::MAX,
                lag_gap: true,
            },
            &ops,
        )
    });
    assert!(
        wrong.is_err(),
        "a hub holding 2 events passed as one holding 1"
    );
}
