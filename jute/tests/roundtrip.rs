//! Property tests: every record decodes from its own encoding to an equal value, and
//! `encoded_len` is exact.

mod common;

use common::*;
use jute::*;
use proptest::prelude::*;

fn round_trip<T: Decode + Encode + PartialEq + std::fmt::Debug>(value: &T) {
    let bytes = value.to_bytes();
    assert_eq!(bytes.len(), value.encoded_len());
    assert_eq!(&T::from_bytes(&bytes).expect("decodes"), value);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn connect_records(req in connect_request(), resp in connect_response()) {
        round_trip(&req);
        round_trip(&resp);
    }

    #[test]
    fn headers(xid in any::<i32>(), op in any::<i32>(), zxid in any::<i64>(), err in any::<i32>()) {
        round_trip(&RequestHeader { xid, op });
        round_trip(&ReplyHeader { xid, zxid, err });
        round_trip(&MultiHeader { op, done: err % 2 == 0, err });
    }

    #[test]
    fn data_records(stat in stat(), acl in acl(), s in jstring()) {
        round_trip(&stat);
        round_trip(&acl);
        round_trip(&ClientInfo { auth_scheme: s.clone(), user: s });
    }

    #[test]
    fn every_request(request in request()) {
        let bytes = request.to_bytes();
        prop_assert_eq!(bytes.len(), request.encoded_len());
        let decoded = Request::decode(request.op_code().as_i32(), &bytes).expect("decodes");
        prop_assert_eq!(decoded, request);
    }

    #[test]
    fn every_response((op, response) in response()) {
        let bytes = response.to_bytes();
        prop_assert_eq!(bytes.len(), response.encoded_len());
        prop_assert_eq!(Response::decode(op, &bytes).expect("decodes"), response);
    }

    #[test]
    fn notifications(event in watcher_event(), zxid in any::<i64>()) {
        round_trip(&event);
        let header = ReplyHeader { xid: xid::NOTIFICATION, zxid, err: 0 };
        let bytes = (header.clone(), event.clone()).to_bytes();
        let (body, decoded) = ReplyHeader::decode(&bytes).unwrap();
        prop_assert_eq!(decoded, header);
        prop_assert_eq!(WatcherEvent::from_bytes(body).unwrap(), event);
    }

    #[test]
    fn set_watches_records(w in set_watches(), w2 in set_watches2()) {
        round_trip(&w);
        round_trip(&w2);
    }

    #[test]
    fn frames_split_anywhere(payloads in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..300), 1..5), split in any::<prop::sample::Index>()) {
        use bytes::BytesMut;
        use tokio_util::codec::{Decoder, Encoder};
        let mut codec = FrameCodec::default();
        let mut wire = BytesMut::new();
        for p in &payloads {
            codec.encode(RawPayload(p), &mut wire).unwrap();
        }
        // Deliver the bytes in two parts, cut anywhere: frames come out whole and in order.
        let cut = split.index(wire.len() + 1);
        let mut buffer = BytesMut::from(&wire[..cut]);
        let mut out = Vec::new();
        while let Some(frame) = codec.decode(&mut buffer).unwrap() {
            out.push(frame.to_vec());
        }
        buffer.extend_from_slice(&wire[cut..]);
        while let Some(frame) = codec.decode(&mut buffer).unwrap() {
            out.push(frame.to_vec());
        }
        prop_assert_eq!(out, payloads);
        prop_assert!(buffer.is_empty());
    }
}
