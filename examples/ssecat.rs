//! `ssecat`: reads a `text/event-stream` from stdin and prints one JSON object per frame, as
//! soon as it is complete. A debugging tool for any SSE endpoint:
//!
//! ```sh
//! curl -sN https://example.com/events | cargo run --example ssecat
//! printf 'id: 1\ndata: hello\n\n' | cargo run --example ssecat
//! cargo run --example ssecat -- --max-event-size 65536 < capture.txt
//! ```
//!
//! Each line of output is one of:
//!
//! ```text
//! {"data":"hello","frame":"event","id":"1","last_event_id":"1","retry":null,"type":"message"}
//! {"comment":"keep-alive","frame":"comment"}
//! {"frame":"retry","retry":1500}
//! {"frame":"id","last_event_id":"7"}
//! {"error":"event exceeds the size limit of 65536 bytes","frame":"error"}
//! ```
//!
//! Exit status: 0 at the end of input, 1 on a read error or a bad argument.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Value};
use sse_wire::{Config, Frame, ParseError, Parser};

fn main() -> ExitCode {
    let config = match config_from_args(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("ssecat: {message}\nusage: ssecat [--max-event-size BYTES] < stream");
            return ExitCode::FAILURE;
        }
    };
    match run(
        Parser::with_config(config),
        io::stdin().lock(),
        io::stdout().lock(),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout (`ssecat | head`) is a normal way to stop.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ssecat: {error}");
            ExitCode::FAILURE
        }
    }
}

fn config_from_args(mut args: impl Iterator<Item = String>) -> Result<Config, String> {
    let mut config = Config::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max-event-size" => {
                let value = args.next().ok_or("--max-event-size needs a value")?;
                let bytes = value
                    .parse()
                    .map_err(|_| format!("--max-event-size: not a byte count: {value}"))?;
                config = config.max_event_size(bytes);
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(config)
}

/// Copies frames from `input` to `output` as JSON lines, flushing after each read so that
/// a live stream shows up live.
fn run(mut parser: Parser, mut input: impl Read, mut output: impl Write) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        parser.feed(&buf[..n]);
        drain(&mut parser, &mut output)?;
        output.flush()?;
    }
    parser.finish();
    drain(&mut parser, &mut output)?;
    output.flush()
}

fn drain(parser: &mut Parser, output: &mut impl Write) -> io::Result<()> {
    while let Some(frame) = parser.next_frame() {
        writeln!(output, "{}", to_json(frame))?;
    }
    Ok(())
}

fn millis(retry: Option<Duration>) -> Value {
    retry.map_or(Value::Null, |d| json!(d.as_millis() as u64))
}

fn to_json(frame: Result<Frame, ParseError>) -> Value {
    match frame {
        Ok(Frame::Event(event)) => json!({
            "frame": "event",
            "type": event.event_type(),
            "data": event.data(),
            "id": event.id(),
            "last_event_id": event.last_event_id(),
            "retry": millis(event.retry()),
        }),
        Ok(Frame::Comment(text)) => json!({ "frame": "comment", "comment": text.as_str() }),
        Ok(Frame::Retry(retry)) => json!({ "frame": "retry", "retry": millis(Some(retry)) }),
        Ok(Frame::Id(id)) => json!({ "frame": "id", "last_event_id": id.as_str() }),
        // `Frame` may grow variants; name them rather than drop them.
        Ok(other) => json!({ "frame": "other", "debug": format!("{other:?}") }),
        Err(error) => json!({ "frame": "error", "error": error.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads one byte per call, like a slow pipe.
    struct Drip<'a>(&'a [u8]);

    impl Read for Drip<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.split_first() {
                Some((first, rest)) if !buf.is_empty() => {
                    buf[0] = *first;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn prints_one_json_object_per_frame() {
        let input = b"\xEF\xBB\xBF: hi\r\nretry: 1500\r\nevent: e\r\nid: 1\r\ndata: a\r\ndata: b\r\n\r\nid: 2\n\ndata: unterminated";
        let mut out = Vec::new();
        run(Parser::new(), Drip(input), &mut out).unwrap();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                json!({"frame": "comment", "comment": "hi"}),
                json!({"frame": "retry", "retry": 1500}),
                json!({"frame": "event", "type": "e", "data": "a\nb", "id": "1", "last_event_id": "1", "retry": 1500}),
                json!({"frame": "id", "last_event_id": "2"}),
            ]
        );
    }

    #[test]
    fn reports_oversized_events_and_goes_on() {
        let mut out = Vec::new();
        let config =
            config_from_args(["--max-event-size".to_string(), "8".to_string()].into_iter())
                .unwrap();
        run(
            Parser::with_config(config),
            &b"data: 0123456789\n\ndata: ok\n\n"[..],
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("\"error\":\"event exceeds the size limit of 8 bytes\""));
        assert!(lines[1].contains("\"data\":\"ok\""));
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(config_from_args(["--max-event-size".to_string()].into_iter()).is_err());
        assert!(
            config_from_args(["--max-event-size".to_string(), "x".to_string()].into_iter())
                .is_err()
        );
        assert!(config_from_args(["--bogus".to_string()].into_iter()).is_err());
    }
}
