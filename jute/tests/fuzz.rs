//! Fuzzing with proptest: arbitrary and mutated bytes through the frame decoder and every record
//! decoder. Nothing may panic, and no single allocation may exceed what the input can justify.
//! Runs `JUTE_FUZZ_CASES` cases (default 1,000,000).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::BytesMut;
use jute::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio_util::codec::Decoder;

/// Records the largest single allocation made by this thread, so the test can bound it.
struct TrackingAllocator;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for TrackingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LARGEST.try_with(|m| m.set(m.get().max(layout.size())));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = LARGEST.try_with(|m| m.set(m.get().max(new_size)));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: TrackingAllocator = TrackingAllocator;

/// Memory a decoded value may take per input byte. A vector never holds more elements than its
/// bytes allow; the densest case is a multi result, 104 bytes in memory for a 9-byte header
/// (11.6x), doubled by `Vec`'s growth. A hostile count never turns into an allocation.
const BYTES_PER_INPUT_BYTE: usize = 24;
/// `Vec`'s first allocation holds four elements whatever the input.
const FIXED_ALLOWANCE: usize = 1024;

fn decode_everything(bytes: &[u8]) {
    let _ = ConnectRequest::from_bytes(bytes);
    let _ = ConnectResponse::from_bytes(bytes);
    let _ = WatcherEvent::from_bytes(bytes);
    let _ = MultiResponse::from_bytes(bytes);
    if let Ok((body, header)) = RequestHeader::decode(bytes) {
        let _ = Request::decode(header.op, body);
    }
    if let Ok((body, _)) = ReplyHeader::decode(bytes) {
        for op in OpCode::ALL {
            let _ = Response::decode(*op, body);
        }
    }
    for op in OpCode::ALL {
        let _ = Request::decode(op.as_i32(), bytes);
    }
}

fn frames_then_records(input: &[u8]) {
    let mut codec = FrameCodec::new(4096);
    let mut buffer = BytesMut::from(input);
    while let Ok(Some(frame)) = codec.decode(&mut buffer) {
        decode_everything(&frame);
    }
}

/// Valid encodings with a few bytes overwritten, cut short or extended: they get past the
/// first length checks, which pure noise rarely does.
fn mutated_request() -> impl Strategy<Value = Vec<u8>> {
    (
        common::request(),
        any::<i32>(),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(request, xid, edits, cut)| {
            let header = RequestHeader { xid, op: request.op_code().as_i32() };
            let mut bytes = (header, request).to_bytes();
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            bytes.truncate(cut.index(bytes.len() + 1));
            bytes
        })
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        mutated_request(),
        mutated_request().prop_map(|body| {
            let mut framed = (body.len() as i32).to_be_bytes().to_vec();
            framed.extend(body);
            framed
        }),
    ]
}

fn cases() -> u32 {
    std::env::var("JUTE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

#[test]
fn no_input_panics_or_allocates_beyond_its_size() {
    let config = Config { cases: cases(), failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    runner
        .run(&input(), |bytes| {
            LARGEST.with(|m| m.set(0));
            decode_everything(&bytes);
            frames_then_records(&bytes);
            let largest = LARGEST.with(Cell::get);
            let bound = BYTES_PER_INPUT_BYTE * bytes.len() + FIXED_ALLOWANCE;
            prop_assert!(
                largest <= bound,
                "allocated {largest} bytes for {} input bytes",
                bytes.len()
            );
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_tracking_allocator_sees_large_allocations() {
    LARGEST.with(|m| m.set(0));
    let v: Vec<u8> = Vec::with_capacity(1 << 20);
    drop(v);
    assert!(LARGEST.with(Cell::get) >= 1 << 20);
}
