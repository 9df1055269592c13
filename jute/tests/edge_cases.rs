//! The values ZooKeeper's wire format forbids or treats specially: nulls, negative and oversized
//! lengths, hostile counts, partial frames, optional trailing bytes.

use bytes::BytesMut;
use jute::*;
use tokio_util::codec::Decoder;

fn frame(len: i32, payload: &[u8]) -> BytesMut {
    let mut bytes = BytesMut::new();
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

#[test]
fn a_partial_frame_is_not_an_error() {
    let mut codec = FrameCodec::default();
    assert!(codec.decode(&mut BytesMut::from(&[0u8, 0][..])).unwrap().is_none());
    let mut partial = frame(10, b"abc");
    assert!(codec.decode(&mut partial).unwrap().is_none());
    partial.extend_from_slice(b"defghij");
    assert_eq!(&codec.decode(&mut partial).unwrap().unwrap()[..], b"abcdefghij");
}

#[test]
fn an_empty_frame_is_a_frame() {
    let mut codec = FrameCodec::default();
    assert_eq!(codec.decode(&mut frame(0, b"")).unwrap().unwrap().len(), 0);
}

#[test]
fn a_negative_length_is_refused() {
    let err = FrameCodec::default().decode(&mut frame(-5, b"")).unwrap_err();
    assert!(matches!(err, FrameError::NegativeLength(-5)), "{err}");
}

#[test]
fn the_default_maximum_is_jute_maxbuffer() {
    let mut codec = FrameCodec::default();
    assert_eq!(codec.max_frame_bytes(), 1_048_575);
    let at_limit = vec![7u8; 1_048_575];
    let decoded = codec.decode(&mut frame(1_048_575, &at_limit)).unwrap().unwrap();
    assert_eq!(decoded.len(), 1_048_575);
    let err = codec.decode(&mut frame(1_048_576, b"")).unwrap_err();
    assert!(matches!(err, FrameError::TooLarge { len: 1_048_576, max: 1_048_575 }));
}

#[test]
fn an_oversized_length_is_refused_before_its_bytes_arrive() {
    let mut codec = FrameCodec::new(100);
    let err = codec.decode(&mut frame(101, b"x")).unwrap_err();
    assert!(matches!(err, FrameError::TooLarge { len: 101, max: 100 }));
}

#[test]
fn null_buffer_and_string_differ_from_empty() {
    let null = [0xff, 0xff, 0xff, 0xff];
    assert_eq!(Buffer::from_bytes(&null).unwrap(), None);
    assert_eq!(Buffer::from_bytes(&[0, 0, 0, 0]).unwrap(), Some(vec![]));
    let s = JString::from_bytes(&null).unwrap();
    assert!(s.is_null());
    assert_eq!(s.as_str(), "");
    assert_eq!(s.to_bytes(), null);
    assert_eq!(JString::from("").to_bytes(), [0, 0, 0, 0]);
}

#[test]
fn a_null_vector_is_read_as_empty_and_never_written() {
    let bytes = [0xff, 0xff, 0xff, 0xff];
    let acls = Vec::<Acl>::from_bytes(&bytes).unwrap();
    assert!(acls.is_empty());
    assert_eq!(acls.to_bytes(), [0, 0, 0, 0]);
}

#[test]
fn any_nonzero_byte_is_true() {
    assert!(bool::from_bytes(&[2]).unwrap());
    assert!(!bool::from_bytes(&[0]).unwrap());
}

#[test]
fn other_negative_lengths_are_errors() {
    let bytes = (-2i32).to_be_bytes();
    assert_eq!(Buffer::from_bytes(&bytes), Err(DecodeError::NegativeLength(-2)));
    assert_eq!(JString::from_bytes(&bytes), Err(DecodeError::NegativeLength(-2)));
    assert_eq!(Vec::<JString>::from_bytes(&bytes), Err(DecodeError::NegativeLength(-2)));
}

#[test]
fn a_huge_count_in_a_small_frame_is_an_error_not_an_allocation() {
    // SetWatches: relativeZxid, then a vector claiming 2^31-1 strings, in a 20-byte body.
    let mut body = vec![0u8; 8];
    body.extend_from_slice(&i32::MAX.to_be_bytes());
    body.extend_from_slice(&[0u8; 8]);
    assert_eq!(body.len(), 20);
    let err = Request::decode(OpCode::SetWatches.as_i32(), &body).unwrap_err();
    assert_eq!(err, DecodeError::CountTooLarge { count: i32::MAX, remaining: 8 });
}

#[test]
fn a_string_longer_than_its_frame_is_truncated_input() {
    let mut body = 1000i32.to_be_bytes().to_vec();
    body.extend_from_slice(b"/short");
    assert_eq!(JString::from_bytes(&body), Err(DecodeError::Truncated));
}

#[test]
fn invalid_utf8_becomes_the_replacement_character() {
    let bytes = [0, 0, 0, 3, b'/', 0xff, b'a'];
    assert_eq!(JString::from_bytes(&bytes).unwrap().as_str(), "/\u{fffd}a");
}

#[test]
fn connect_request_with_and_without_the_read_only_byte() {
    let request = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout_ms: 30_000,
        session_id: 0,
        passwd: Some(vec![0; 16]),
        read_only: Some(false),
    };
    let with = request.to_bytes();
    assert_eq!(with.len(), 45);
    assert_eq!(ConnectRequest::from_bytes(&with).unwrap().read_only, Some(false));
    let without = &with[..44];
    assert_eq!(ConnectRequest::from_bytes(without).unwrap().read_only, None);
}

#[test]
fn connect_response_mirrors_the_read_only_byte() {
    let mut response = ConnectResponse {
        timeout_ms: 4000,
        session_id: 1,
        passwd: Some(vec![1; 16]),
        read_only: Some(false),
        ..Default::default()
    };
    assert_eq!(response.to_bytes().len(), 37);
    response.read_only = None;
    assert_eq!(response.to_bytes().len(), 36);
}

#[test]
fn opcodes_a_client_may_not_send_are_refused() {
    assert_eq!(Request::decode(10, &[]), Err(DecodeError::UnknownOpCode(10)));
    assert_eq!(Request::decode(0, &[]), Err(DecodeError::UnexpectedOpCode(0)));
    assert_eq!(Request::decode(-10, &[]), Err(DecodeError::UnexpectedOpCode(-10)));
    assert_eq!(Request::decode(-1, &[]), Err(DecodeError::UnexpectedOpCode(-1)));
}

#[test]
fn a_multi_may_not_hold_other_ops() {
    let mut body =
        MultiHeader { op: OpCode::DeleteContainer.as_i32(), done: false, err: -1 }.to_bytes();
    body.extend(JString::from("/a").to_bytes());
    body.extend(MultiHeader::END.to_bytes());
    assert_eq!(Request::decode(14, &body), Err(DecodeError::InvalidMultiOp(20)));
    let mut nested = MultiHeader { op: OpCode::Multi.as_i32(), done: false, err: -1 }.to_bytes();
    nested.extend(MultiRequest::default().to_bytes());
    nested.extend(MultiHeader::END.to_bytes());
    assert_eq!(Request::decode(14, &nested), Err(DecodeError::InvalidMultiOp(14)));
}

#[test]
fn an_empty_multi_is_just_the_terminator() {
    let body = MultiRequest::default().to_bytes();
    assert_eq!(body, [0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(Request::decode(14, &body).unwrap(), Request::Multi(MultiRequest::default()));
}

#[test]
fn a_multi_error_result_carries_its_code_twice() {
    let response = MultiResponse { results: vec![MultiResult::Error(-101)] };
    let bytes = response.to_bytes();
    assert_eq!(&bytes[..9], &[0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0x9b]);
    assert_eq!(&bytes[9..13], &(-101i32).to_be_bytes());
}

#[test]
fn stat_is_68_bytes() {
    assert_eq!(Stat::default().encoded_len(), 68);
    assert_eq!(<Stat as Decode>::MIN_SIZE, 68);
}

#[test]
fn every_error_code_and_opcode_round_trips_through_its_number() {
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_i32(code.as_i32()), Some(*code));
    }
    for op in OpCode::ALL {
        assert_eq!(OpCode::from_i32(op.as_i32()), Some(*op));
    }
    for undefined in [-9, -10, -11, -104, -105, -106, -107, -109, -116, -117, -126] {
        assert_eq!(ErrorCode::from_i32(undefined), None);
    }
}
