//! `hub` (feature `hub`): fuzzer-chosen schedules of publishes, subscribes, polls and drops,
//! run against a real `Hub` and the plain model that `tests/hub_model.rs` uses.

#[path = "../../tests/hub_oracle/mod.rs"]
mod hub_oracle;

use hub_oracle::{Op, Resume, Setup};

use super::Source;

/// Layout: max events (1 byte, 0 to 7), max bytes (see below), lag policy (1 byte), then one
/// operation per tag byte, each with its arguments. Past the end every byte reads as 0.
pub(crate) fn hub(input: &[u8]) {
    let mut src = Source(input);
    let max_events = usize::from(src.byte() % 8);
    let max_bytes = match src.byte() {
        0 => usize::MAX,
        n => usize::from(n),
    };
    let lag_gap = src.byte() & 1 != 0;
    let mut ops = Vec::new();
    // Bounded, so that one input stays quick: each op costs at most a few polls.
    while !src.is_empty() && ops.len() < 256 {
        let tag = src.byte();
        ops.push(match tag % 4 {
            0 => {
                let kind = src.byte();
                let event_type = match kind & 3 {
                    0 | 1 => None,
                    2 => Some("tick".to_owned()),
                    _ => Some("a b".to_owned()),
                };
                let data = (kind & 4 == 0).then(|| data(&mut src));
                Op::Publish { event_type, data }
            }
            1 => Op::Subscribe(resume(&mut src)),
            2 => {
                let arg = src.byte();
                Op::Poll {
                    sub: usize::from(arg >> 3),
                    times: 1 + (arg & 3),
                    new_waker: arg & 4 != 0,
                }
            }
            _ => Op::Drop {
                sub: usize::from(src.byte()),
            },
        });
    }
    hub_oracle::run(
        Setup {
            max_events,
            max_bytes,
            lag_gap,
        },
        &ops,
    );
}

/// Event data without CR (the model writes LF-only line breaks): CR becomes LF.
fn data(src: &mut Source<'_>) -> String {
    src.text().replace('\r', "\n")
}

fn resume(src: &mut Source<'_>) -> Resume {
    let arg = src.byte();
    let n = u64::from(arg >> 3);
    match arg & 7 {
        0 => Resume::None,
        1 => Resume::Empty,
        2 | 3 => Resume::Back(n),
        4 => Resume::Ahead(n),
        5 => Resume::OtherEpoch {
            up: n & 1 != 0,
            seq: n >> 1,
        },
        _ => Resume::Text(src.text()),
    }
}
