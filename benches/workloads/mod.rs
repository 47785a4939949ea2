//! The benchmark workloads, shared by `benches/parse.rs`, `benches/encode.rs` and the
//! comparison crate in `benches/compare` (each includes this file by path).
//!
//! Everything is generated from a fixed seed, so every run and every implementation sees
//! the same bytes. The wire form is written here by hand rather than by sse-wire's encoder,
//! so that the parse benches do not depend on the code they compare.

/// What one event carries; the encode benches start from these.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) event: Option<String>,
    pub(crate) id: Option<String>,
    /// Lines joined with LF.
    pub(crate) data: String,
}

#[derive(Debug)]
pub(crate) struct Workload {
    pub(crate) name: &'static str,
    pub(crate) specs: Vec<Spec>,
    pub(crate) wire: Vec<u8>,
    /// The end of the event that ends at or after [`PREFIX`]: what 1-byte chunks are fed.
    pub(crate) prefix: usize,
}

/// How much of a workload the 1-byte chunking feeds (rounded up to an event boundary): a
/// drip of the whole stream would take minutes for the slower peers.
pub(crate) const PREFIX: usize = 256 * 1024;

/// The chunk sizes of the issue: 1 B (on the prefix), 10 B, 64 B, a TCP segment's payload,
/// 16 KiB, and the whole stream in one chunk (`usize::MAX`).
pub(crate) const CHUNKS: [usize; 6] = [1, 10, 64, 1460, 16 * 1024, usize::MAX];

pub(crate) fn chunk_label(size: usize) -> String {
    match size {
        usize::MAX => "whole".to_owned(),
        s if s >= 1024 && s % 1024 == 0 => format!("{} KiB", s / 1024),
        s => format!("{s} B"),
    }
}

/// The input a chunk size feeds: the prefix for 1-byte chunks, else everything.
pub(crate) fn input(workload: &Workload, chunk: usize) -> &[u8] {
    let len = if chunk == 1 {
        workload.prefix
    } else {
        workload.wire.len()
    };
    workload.wire.get(..len).unwrap_or_default()
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Words of an LLM's answer; a few are not ASCII, as real token streams are.
const WORDS: [&str; 24] = [
    "the",
    "model",
    "streams",
    "tokens",
    "one",
    "by",
    "and",
    "each",
    "is",
    "an",
    "event",
    "café",
    "naïve",
    "déjà",
    "vu",
    "über",
    "日本語",
    "テキスト",
    "ok",
    "so",
    "it",
    "with",
    "🙂",
    "data",
];

fn llm(events: usize) -> Vec<Spec> {
    let mut rng = Rng(0x5EED_0001);
    (0..events)
        .map(|i| {
            let words = 1 + rng.below(8);
            let mut content = String::new();
            for _ in 0..words {
                content.push(' ');
                content.push_str(WORDS[rng.below(WORDS.len())]);
            }
            Spec {
                event: None,
                id: None,
                data: format!(
                    "{{\"id\":\"chatcmpl-{i:08}\",\"object\":\"chat.completion.chunk\",\
                     \"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}}}}]}}"
                ),
            }
        })
        .collect()
}

fn ticker(events: usize) -> Vec<Spec> {
    let mut rng = Rng(0x5EED_0002);
    let symbols = ["ACME", "INIT", "WIDG", "GLOB", "SSEW"];
    (0..events)
        .map(|i| Spec {
            event: Some("tick".to_owned()),
            id: Some(format!("{}", 1_000_000 + i)),
            data: format!(
                "{{\"s\":\"{}\",\"t\":{},\"p\":{}.{:02},\"v\":{}}}",
                symbols[rng.below(symbols.len())],
                1_700_000_000_000u64 + 250 * i as u64,
                10 + rng.below(990),
                rng.below(100),
                rng.below(100_000)
            ),
        })
        .collect()
}

/// `events` events of one `len`-byte line each (base64-like text, as images are sent).
fn big(events: usize, len: usize, seed: u64) -> Vec<Spec> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = Rng(seed);
    (0..events)
        .map(|_| Spec {
            event: None,
            id: None,
            data: (0..len)
                .map(|_| char::from(ALPHABET[rng.below(64)]))
                .collect(),
        })
        .collect()
}

fn multi_line(events: usize) -> Vec<Spec> {
    let mut rng = Rng(0x5EED_0004);
    (0..events)
        .map(|_| {
            let lines: Vec<String> = (0..50)
                .map(|_| {
                    (0..40)
                        .map(|_| char::from(b'a' + rng.below(26) as u8))
                        .collect()
                })
                .collect();
            Spec {
                event: None,
                id: None,
                data: lines.join("\n"),
            }
        })
        .collect()
}

/// The wire form of `specs`, lines ended by `eol`.
pub(crate) fn write(specs: &[Spec], eol: &str) -> Vec<u8> {
    let mut out = String::new();
    for spec in specs {
        if let Some(event) = &spec.event {
            out.push_str("event: ");
            out.push_str(event);
            out.push_str(eol);
        }
        if let Some(id) = &spec.id {
            out.push_str("id: ");
            out.push_str(id);
            out.push_str(eol);
        }
        for line in spec.data.split('\n') {
            out.push_str("data: ");
            out.push_str(line);
            out.push_str(eol);
        }
        out.push_str(eol);
    }
    out.into_bytes()
}

fn workload(name: &'static str, specs: Vec<Spec>, eol: &str) -> Workload {
    let wire = write(&specs, eol);
    let mut prefix = 0;
    for spec in &specs {
        prefix += write(core::slice::from_ref(spec), eol).len();
        if prefix >= PREFIX {
            break;
        }
    }
    Workload {
        name,
        specs,
        wire,
        prefix,
    }
}

/// All workloads, in table order.
pub(crate) fn all() -> Vec<Workload> {
    let llm_specs = llm(100_000);
    vec![
        workload("LLM tokens", llm_specs.clone(), "\n"),
        workload("ticker", ticker(100_000), "\n"),
        workload("64 KiB events", big(64, 64 * 1024, 0x5EED_0003), "\n"),
        workload("multi-line", multi_line(1_000), "\n"),
        workload("LLM tokens, CRLF", llm_specs, "\r\n"),
        workload("1 MiB line", big(4, 1024 * 1024, 0x5EED_0005), "\n"),
    ]
}

/// What an implementation saw: events, data bytes and a checksum of the data, which must
/// agree across implementations.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) events: u64,
    pub(crate) data_bytes: u64,
    pub(crate) checksum: u64,
}

impl Tally {
    /// Counts an event. `check` also hashes its data (FNV-1a, per event), which the timed
    /// runs skip so that they measure the parser, not the hash.
    #[inline]
    pub(crate) fn add(&mut self, data: &[u8], check: bool) {
        self.events += 1;
        self.data_bytes += data.len() as u64;
        if check {
            let mut hash = self.checksum ^ 0xCBF2_9CE4_8422_2325;
            for &byte in data {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3);
            }
            self.checksum = hash.rotate_left(5) ^ data.len() as u64;
        }
    }
}
