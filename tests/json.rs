//! `EventBuilder::json_data`: serde_json data, and serialization failures as errors.
#![cfg(feature = "json")]

use std::collections::BTreeMap;

use serde_json::json;
use sse_wire::{EncodeError, Event, Parser};

#[test]
fn json_data_round_trips_through_the_parser() {
    let value = json!({"text": "line 1\nline 2\r\n", "n": [1, 2.5, null], "emoji": "\u{1F600}"});
    let event = Event::builder()
        .event("delta")
        .json_data(&value)
        .build()
        .unwrap();
    // Compact JSON escapes line breaks: one data line.
    assert_eq!(event.to_bytes().iter().filter(|&&b| b == b'\n').count(), 3);
    let mut parser = Parser::new();
    parser.feed_bytes(event.to_bytes());
    let received = parser.next_event().unwrap().unwrap();
    let parsed: serde_json::Value = serde_json::from_str(received.data()).unwrap();
    assert_eq!(parsed, value);
}

#[test]
fn json_data_appends_like_data() {
    let event = Event::builder()
        .data("before")
        .json_data(&1)
        .build()
        .unwrap();
    assert_eq!(event.data(), "before\n1");
}

#[test]
fn a_serialization_failure_is_an_error_from_build() {
    let bad = BTreeMap::from([((1, 2), "tuple keys are not JSON")]);
    let error = Event::builder()
        .json_data(&bad)
        .data("x")
        .build()
        .unwrap_err();
    let EncodeError::Json(inner) = &error else {
        panic!("expected EncodeError::Json, got {error:?}")
    };
    assert_eq!(error.to_string(), "data could not be serialized as json");
    let source = std::error::Error::source(&error).unwrap();
    assert_eq!(source.to_string(), "key must be a string");
    assert_eq!(inner.to_string(), "key must be a string");
    assert_eq!(error.clone(), error);
}

#[test]
fn the_first_invalid_value_is_the_error() {
    let bad = BTreeMap::from([((1, 2), 3)]);
    let error = Event::builder()
        .event("a\nb")
        .json_data(&bad)
        .build()
        .unwrap_err();
    assert_eq!(error, EncodeError::EventTypeLineBreak);
}

#[test]
fn json_errors_compare_by_message() {
    let tuple_keys = |k: (i32, i32)| BTreeMap::from([(k, 0)]);
    let a = Event::builder()
        .json_data(&tuple_keys((1, 2)))
        .build()
        .unwrap_err();
    let b = Event::builder()
        .json_data(&tuple_keys((3, 4)))
        .build()
        .unwrap_err();
    assert_eq!(a, b);
    assert_ne!(a, EncodeError::IdNul);
}
